/**
 * nightshift's public API, for embedding it in another program (the CLI uses the same pieces).
 * Anything not exported here is internal and may change.
 */
export {
  JobSpecError,
  InputError,
  ModelError,
  TransientError,
  ErrorRateExceededError,
  NightshiftError,
  UsageError,
  UriError,
  LockLostError,
  CancelledError,
  NotPublishedError,
  AccessError,
} from './core/errors.js';
export { outcomeOf, EXIT, type Outcome, type FailureKind } from './core/outcomes.js';
export type { ShardResult, RejectedRow, RejectReason } from './core/types.js';
export { jobSpecSchema, type JobSpec, type JobSpecInput } from './spec/job-spec.js';
export { loadJobFile, loadJobsDir, parseJobSpec, type LoadedJob } from './spec/load-spec.js';
export { Stores } from './storage/stores.js';
export { LocalStore } from './storage/local-store.js';
export type { ObjectStore, ObjectInfo } from './storage/object-store.js';
export { s3SettingsFromEnv, type S3Settings } from './storage/s3-config.js';
export { scoreRun, type ScoreRunOptions, type ScoreRunResult } from './run/score-run.js';
export { runIdFor, defaultLogicalDate } from './run/run-identity.js';
export type { RunReport } from './report/run-report.js';
export { findPublishedRun, readPublishedRows, openPublishedPart, type PublishedRun, type PublishedPart, type PublishedRow } from './run/published-run.js';
export { startWorker, type WorkerOptions, type RunningWorker } from './worker/start-worker.js';
export { triggerRun, type TriggerResult } from './queue/trigger.js';
export { RunRegistry, type RunRecord, type RunState } from './queue/run-registry.js';
export { redisSettingsFromEnv, createRedis, type RedisSettings } from './queue/redis-config.js';
export { Scheduler } from './scheduler/scheduler.js';
export { systemClock, type Clock } from './scheduler/clock.js';
export { ticksBetween, nextTicks, type Tick } from './scheduler/cron-ticks.js';
export { createApiServer } from './http/server.js';
