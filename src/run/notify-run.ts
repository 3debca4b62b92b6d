/**
 * Webhooks about runs (job `notify:`, plus NIGHTSHIFT_NOTIFY_URL / _SECRET / _EVENTS from the
 * environment). Sent after the run has published (or held, or failed): delivery never delays or
 * changes the run. Each body is signed like GitHub's and Stripe's webhooks:
 *
 *   X-Nightshift-Timestamp: <unix seconds>
 *   X-Nightshift-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * A receiver recomputes the HMAC over the raw bytes it got, compares in constant time, and
 * refuses timestamps older than a few minutes (replay). Failed deliveries (network error, timeout,
 * any non-2xx) are retried with exponential backoff, then reported on stderr. Secrets are read
 * from the environment when sending and never logged, stored or put in a report.
 */
import { createHmac } from 'node:crypto';
import type { RunReport } from '../report/run-report.js';
import type { JobSpec, NotifySpec } from '../spec/job-spec.js';

export type RunEvent = NotifySpec['events'][number];

export interface DeliveryOptions {
  /** Tries in all (first + retries). */
  readonly attempts: number;
  /** Backoff before retry n is baseMs × 2^(n−1). */
  readonly baseMs: number;
  /** Per try: a receiver that hangs is abandoned after this. */
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { attempts: 5, baseMs: 1_000, timeoutMs: 10_000, log: (l) => void process.stderr.write(`${l}\n`) };

export interface Webhook {
  readonly url: string;
  readonly events: readonly RunEvent[];
  readonly secret: string | undefined;
  readonly format: 'json' | 'slack';
}

/** The events a finished report stands for. */
export function eventsOf(report: RunReport): RunEvent[] {
  const ev: RunEvent[] = [];
  if (report.status === 'succeeded') ev.push('succeeded');
  if (report.status === 'failed') ev.push('failed');
  if (report.status === 'held') ev.push('held');
  if (report.monitoring?.verdict === 'drift') ev.push('drift');
  return ev;
}

/** The job's webhooks plus the environment's default one; secrets resolved from the environment. */
export function webhooksFor(spec: JobSpec, env: NodeJS.ProcessEnv = process.env): Webhook[] {
  const hooks: Webhook[] = spec.notify.map((n) => ({ url: n.url, events: n.events, secret: n.secretEnv ? env[n.secretEnv] : undefined, format: n.format }));
  if (env.NIGHTSHIFT_NOTIFY_URL) {
    const events = (env.NIGHTSHIFT_NOTIFY_EVENTS ?? 'failed,held,drift,late').split(',').map((e) => e.trim()) as RunEvent[];
    hooks.push({
      url: env.NIGHTSHIFT_NOTIFY_URL,
      events,
      secret: env.NIGHTSHIFT_NOTIFY_SECRET,
      format: env.NIGHTSHIFT_NOTIFY_FORMAT === 'slack' ? 'slack' : 'json',
    });
  }
  return hooks;
}

export function signature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Sends the run's events to every webhook that wants one, in the background. The returned
 * promise settles when every delivery has succeeded or given up (never rejects): `score` lets
 * the process finish them, workers carry on.
 */
export function notifyRun(spec: JobSpec, report: RunReport, opts: Partial<DeliveryOptions> = {}): Promise<void> {
  const o = { ...DEFAULT_DELIVERY, ...deliveryFromEnv(), ...opts };
  const events = eventsOf(report);
  const sends = webhooksFor(spec).flatMap((h) =>
    events.filter((e) => h.events.includes(e)).map((e) => deliver(h, e, report.runId, h.format === 'slack' ? slackBody(e, report) : eventBody(e, report), o)),
  );
  return Promise.all(sends).then(() => undefined);
}

/** A scheduled run that has not succeeded by its deadline (schedule.lateAfter after its tick). */
export interface LateRun {
  readonly runId: string;
  readonly job: string;
  readonly logicalDate: string;
  /** The newest attempt's state, or "not started" when no attempt was recorded. */
  readonly status: string;
  readonly attempt: string | undefined;
  /** When the tick fired and when the run had to have succeeded (ISO 8601). */
  readonly tick: string;
  readonly deadline: string;
  readonly reason: string;
}

/** Sends the `late` event to every webhook that wants it (same signing, retries and never-rejects as notifyRun). */
export function notifyLate(spec: JobSpec, late: LateRun, opts: Partial<DeliveryOptions> = {}): Promise<void> {
  const o = { ...DEFAULT_DELIVERY, ...deliveryFromEnv(), ...opts };
  const body = { event: 'late' as const, ...late };
  const text = { text: `:hourglass: nightshift ${late.runId} late: ${late.reason}` };
  const sends = webhooksFor(spec)
    .filter((h) => h.events.includes('late'))
    .map((h) => deliver(h, 'late', late.runId, h.format === 'slack' ? text : body, o));
  return Promise.all(sends).then(() => undefined);
}

/** NIGHTSHIFT_NOTIFY_ATTEMPTS / _BACKOFF_MS / _TIMEOUT_MS, when set to whole numbers. */
function deliveryFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<DeliveryOptions> {
  const n = (name: string): number | undefined => {
    const v = Number(env[name]);
    return env[name] !== undefined && Number.isInteger(v) && v > 0 ? v : undefined;
  };
  const attempts = n('NIGHTSHIFT_NOTIFY_ATTEMPTS');
  const baseMs = n('NIGHTSHIFT_NOTIFY_BACKOFF_MS');
  const timeoutMs = n('NIGHTSHIFT_NOTIFY_TIMEOUT_MS');
  return { ...(attempts ? { attempts } : {}), ...(baseMs ? { baseMs } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
}

async function deliver(h: Webhook, event: RunEvent, runId: string, payload: object, o: DeliveryOptions): Promise<void> {
  const body = JSON.stringify(payload);
  const where = redactUrl(h.url);
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'nightshift-webhook/1',
      'x-nightshift-event': event,
      'x-nightshift-timestamp': timestamp,
    };
    if (h.secret) headers['x-nightshift-signature'] = signature(h.secret, timestamp, body);
    let why: string;
    try {
      const res = await fetch(h.url, { method: 'POST', body, headers, signal: AbortSignal.timeout(o.timeoutMs) });
      await res.body?.cancel();
      if (res.ok) return;
      why = `HTTP ${res.status}`;
    } catch (err) {
      why = (err as Error).name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : (err as Error).message;
    }
    if (attempt === o.attempts) {
      o.log(`nightshift: webhook ${event} for ${runId} to ${where} failed after ${attempt} tries: ${why}`);
      return;
    }
    await new Promise((r) => setTimeout(r, o.baseMs * 2 ** (attempt - 1)));
  }
}

export interface EventBody {
  event: RunEvent;
  runId: string;
  attempt: string;
  job: string;
  logicalDate: string;
  status: RunReport['status'];
  reason?: string;
  rows: { read: number; scored: number; rejected: number };
  output: string;
  monitoring?: { verdict: string; drifted: string[]; worst: unknown };
}

function eventBody(event: RunEvent, r: RunReport): EventBody {
  const m = r.monitoring;
  return {
    event,
    runId: r.runId,
    attempt: r.attempt,
    job: r.job,
    logicalDate: r.logicalDate,
    status: r.status,
    ...(r.reason ? { reason: r.reason } : {}),
    rows: { read: r.rows.read, scored: r.rows.scored, rejected: r.rows.rejected },
    output: r.output.uri,
    ...(m ? { monitoring: { verdict: m.verdict, drifted: m.baseline === null ? [] : m.drifted, worst: m.baseline === null ? null : m.worst } } : {}),
  };
}

function slackBody(event: RunEvent, r: RunReport): { text: string } {
  const icon = { failed: ':x:', held: ':pause_button:', drift: ':warning:', succeeded: ':white_check_mark:', late: ':hourglass:' }[event];
  const m = r.monitoring;
  const drift = m && m.baseline !== null && m.drifted.length > 0 ? `\nDrift: ${m.drifted.slice(0, 5).join(', ')}` : '';
  return {
    text: `${icon} nightshift ${r.runId} ${event}: ${r.status}${r.reason ? ` (${r.reason})` : ''}\n${r.rows.read} rows read, ${r.rows.rejected} rejected${drift}`,
  };
}

/** Webhook URLs often carry a token in their path or query (Slack's do): show the host only. */
function redactUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(webhook)';
  }
}
