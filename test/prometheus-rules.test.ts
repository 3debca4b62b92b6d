/** deploy/prometheus-rules.yml parses, and every nightshift metric it alerts on is one the processes export. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { parse } from 'yaml';
import { registry } from '../src/core/metrics.js';
import '../src/queue/queue-metrics.js';

it('prometheus rules parse and name exported metrics', async () => {
  const doc = parse(await readFile(new URL('../deploy/prometheus-rules.yml', import.meta.url), 'utf8')) as {
    groups: { name: string; rules: { alert: string; expr: string }[] }[];
  };
  const rules = doc.groups.flatMap((g) => g.rules);
  assert.ok(rules.length >= 5);
  const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
  // Collected from Redis when scraped (queue-metrics.ts), registered by serve and workers at start.
  for (const n of ['nightshift_queue_jobs', 'nightshift_last_success_timestamp_seconds', 'nightshift_run_late']) exported.add(n);
  for (const r of rules) {
    assert.ok(r.alert && r.expr, JSON.stringify(r));
    for (const [name] of r.expr.matchAll(/\b(nightshift_[a-z_]+|nodejs_[a-z_]+)\b/g)) assert.ok(exported.has(name), `${r.alert}: ${name} is not exported`);
  }
  for (const a of ['NightshiftNoSuccessfulRun', 'NightshiftRunLate', 'NightshiftRowErrorRate', 'NightshiftQueueBackingUp', 'NightshiftWorkersAbsent'])
    assert.ok(
      rules.some((r) => r.alert === a),
      a,
    );
});
