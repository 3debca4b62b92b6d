/**
 * What a worker does with a job it failed because of its own configuration (an AccessError):
 * mark itself not ready, and hand the job back for another worker (BullMQ retries it; this
 * worker takes none meanwhile) while the job has attempts left and some other worker is ready.
 * Otherwise nobody is known to be able to do it: fail the job for good with the reason, so a run
 * whose model nobody can read fails clearly instead of waiting forever.
 */
import type { Job } from 'bullmq';
import { AccessError } from '../core/errors.js';
import { UnrecoverableError } from '../queue/bullmq.js';
import type { WorkerReadiness } from './readiness.js';

export async function handBackOrFail(job: Job, err: unknown, readiness: WorkerReadiness): Promise<unknown> {
  if (!(err instanceof AccessError)) return err;
  readiness.notReady(err);
  const attempts = job.opts.attempts ?? 1;
  const last = job.attemptsMade + 1 >= attempts;
  const peers = last ? 0 : await readiness.readyPeers().catch(() => 0);
  if (peers > 0) return new Error(`handed back by a worker that cannot reach ${err.uri} (${peers} other worker(s) ready): ${err.message}`, { cause: err });
  const why = last ? `no worker could, in ${attempts} attempts` : 'no other worker is ready to take it';
  const final = new UnrecoverableError(`${err.message} (${why}; check the workers' credentials and paths)`);
  final.cause = err;
  return final;
}
