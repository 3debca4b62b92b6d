/**
 * Prometheus metrics (prom-client) of a worker or `serve` process, on one registry. Names are
 * what deploy/prometheus-rules.yml alerts on; labels are job names, statuses, queues and states
 * only (never run ids: one series per run would grow without bound).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
// Process CPU, memory, handles, GC and nodejs_eventloop_lag_seconds (sampled every 10 ms).
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

export const runsTotal = new Counter({
  name: 'nightshift_runs_total',
  help: 'Runs finished, by job and final status (succeeded, failed, cancelled).',
  labelNames: ['job', 'status'],
  registers: [registry],
});
export const rowsScored = new Counter({ name: 'nightshift_rows_scored_total', help: 'Rows scored, by job.', labelNames: ['job'], registers: [registry] });
export const rowsRejected = new Counter({
  name: 'nightshift_rows_rejected_total',
  help: 'Rows rejected (written to the errors file), by job.',
  labelNames: ['job'],
  registers: [registry],
});
export const bytesRead = new Counter({
  name: 'nightshift_bytes_read_total',
  help: 'Input bytes read by shards, by job.',
  labelNames: ['job'],
  registers: [registry],
});
export const bytesWritten = new Counter({
  name: 'nightshift_bytes_written_total',
  help: 'Part bytes written by shards, by job.',
  labelNames: ['job'],
  registers: [registry],
});
export const shardDuration = new Histogram({
  name: 'nightshift_shard_duration_seconds',
  help: 'Wall time of a shard attempt, by job and outcome (done, failed).',
  labelNames: ['job', 'outcome'],
  buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
  registers: [registry],
});
export const finalizeDuration = new Histogram({
  name: 'nightshift_finalize_duration_seconds',
  help: 'Wall time of a run finalize step, by job and status.',
  labelNames: ['job', 'status'],
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});
export const inferenceSeconds = new Counter({
  name: 'nightshift_inference_seconds_total',
  help: 'Time spent in session.run, by job (with nightshift_rows_scored_total: rows per inference second).',
  labelNames: ['job'],
  registers: [registry],
});
export const readParseSeconds = new Counter({
  name: 'nightshift_read_parse_seconds_total',
  help: 'Time spent reading and parsing input, by job.',
  labelNames: ['job'],
  registers: [registry],
});

/** Gauges whose value is read from Redis when scraped (registered by the process that can read them). */
export function addCollectedGauge(
  name: string,
  help: string,
  labelNames: readonly string[],
  collect: (set: (labels: Record<string, string>, value: number) => void) => Promise<void>,
): Gauge {
  return new Gauge({
    name,
    help,
    labelNames: [...labelNames],
    registers: [registry],
    async collect() {
      this.reset();
      await collect((labels, value) => this.set(labels, value));
    },
  });
}
