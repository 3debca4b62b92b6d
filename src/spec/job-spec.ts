/**
 * The job spec: one YAML file per job in jobs/. This zod schema is the single source of truth;
 * the JSON Schema for editors (jobs/job.schema.json) is generated from it.
 */
import { z } from 'zod';

const columnName = z.string().min(1, 'column names cannot be empty');

export const dtypeSchema = z.enum(['float32', 'float64', 'int64', 'string']);
export type Dtype = z.infer<typeof dtypeSchema>;

const modelInputSchema = z.strictObject({
  /** Name of the model input (as the model declares it). */
  name: z.string().min(1),
  /** Input columns, in order; they become one [N, columns.length] tensor. */
  columns: z.array(columnName).min(1),
  dtype: dtypeSchema.default('float32'),
  /** `reject`: empty/NaN cells reject the row. `nan`: they are fed as NaN (float inputs only). */
  missing: z.enum(['reject', 'nan']).default('reject'),
});

const modelOutputSchema = z.strictObject({
  /** Name of the model output. */
  name: z.string().min(1),
  /** Output columns, one per element of the output's second dimension (one for a [N] output). */
  columns: z.array(columnName).min(1),
});

/** Where a model comes from: a file (`uri`) or a registered version (`ref`); exactly one. */
const modelSourceFields = {
  /** s3://bucket/key, file:// URI, or a path relative to the spec file. Templated. */
  uri: z.string().min(1).optional(),
  /** A registered version: name@alias (resolved when a run is planned, then pinned) or name@version. */
  ref: z.string().min(1).optional(),
  /** The model registry `ref` is looked up in (s3://bucket/prefix/ or a folder); default NIGHTSHIFT_REGISTRY. */
  registry: z.string().min(1).optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters')
    .optional(),
};

/**
 * A second model scored on the same parsed batches as the job's model (the champion), for
 * comparison only: its scores go to `_challenger/` parts and the report's `challenger` section,
 * never into the published parts, and its failure never fails the run.
 */
const challengerSchema = z.strictObject({
  ...modelSourceFields,
  /** onnxruntime intra-op threads per session (default: model.threads). */
  threads: z.int().min(1).max(64).optional(),
  /**
   * Which of its outputs become which columns, when they differ from model.outputs. Columns are
   * compared with the champion's columns of the same name; default: model.outputs.
   */
  outputs: z.array(modelOutputSchema).min(1).optional(),
  /**
   * Decision threshold(s) for "agreement at a threshold": one for every float score column, or
   * per column. A value ≥ the threshold is a positive decision.
   */
  threshold: z.union([z.number(), z.record(columnName, z.number())]).optional(),
  /** Write the challenger's scores (id columns + its score columns) under `_challenger/` in the run's output. */
  parts: z.boolean().default(true),
});

const modelSchema = z.strictObject({
  ...modelSourceFields,
  /** onnxruntime intra-op threads per session. */
  threads: z.int().min(1).max(64).default(1),
  inputs: z.array(modelInputSchema).min(1),
  outputs: z.array(modelOutputSchema).min(1),
  /** Champion/challenger: a second model scored in the same pass, compared in the report. */
  challenger: challengerSchema.optional(),
});

const csvSchema = z.strictObject({
  header: z.boolean().default(true),
  /** Column names when the file has no header row. */
  columns: z.array(columnName).optional(),
  delimiter: z.string().length(1).default(','),
  quote: z.string().length(1).default('"'),
  encoding: z.enum(['utf8', 'latin1']).default('utf8'),
  /**
   * Keep a quote inside an unquoted field as text (`37°36'37.8"N`), as csv-parse's relax_quotes
   * and Python's csv module do, instead of failing the file. A field that opens with a quote is
   * still a quoted field; text after its closing quote is kept as written (`"a"b` → `"a"b`).
   */
  relaxQuotes: z.boolean().default(false),
});

const inputSchema = z.strictObject({
  /** A prefix (ending in /), a single object, or a glob (* and ? in the last segment). Templated. */
  uri: z.string().min(1),
  /**
   * csv; jsonl (one JSON object per line, columns by key; .gz too); parquet (columns by name,
   * row groups as shards). Missing keys and nulls count as missing values.
   */
  format: z.enum(['csv', 'jsonl', 'parquet']).default('csv'),
  csv: csvSchema.prefault({}),
  /** Column(s) identifying a row; copied to every output and error row. */
  id: z.array(columnName).default([]),
  passthrough: z.array(columnName).default([]),
  /** Uncompressed CSV objects larger than this are split into byte-range shards. */
  shardBytes: z
    .int()
    .min(64 * 1024)
    .default(64 * 1024 * 1024),
});

const outputSchema = z.strictObject({
  /** Output prefix for the run. Templated ({{date}}, {{runId}}, {{job}}). */
  uri: z.string().min(1),
  /** csv | jsonl | parquet (score columns keep their type; snappy-compressed row groups). */
  format: z.enum(['csv', 'jsonl', 'parquet']).default('csv'),
  gzip: z.boolean().default(false),
  /** Rows per Parquet row group (parquet output only). */
  rowGroupRows: z.int().min(1024).max(10_000_000).default(131072),
  /** Fixed decimals for float scores; default: shortest text that round-trips. */
  decimals: z.int().min(0).max(17).optional(),
});

const limitsSchema = z.strictObject({
  batchRows: z.int().min(1).max(1_000_000).default(8192),
  /** Rejected / read above which the run fails (0 = any rejected row fails the run). */
  maxErrorRate: z.number().min(0).max(1).default(0.01),
  /** A record longer than this fails its shard (protects memory from a runaway quote). */
  maxRecordBytes: z
    .int()
    .min(1024)
    .default(1024 * 1024),
});

const scheduleSchema = z.strictObject({
  cron: z.string().min(1),
  timezone: z.string().default('UTC'),
  /** Which date a fire scores: the day before the fire (nightly jobs) or the fire's own date. */
  logicalDate: z.enum(['previous-day', 'fire-date']).default('previous-day'),
  catchup: z.enum(['none', 'latest', 'all']).default('latest'),
  /** How far back catch-up looks, e.g. "3d", "12h". */
  catchupWindow: z
    .string()
    .regex(/^\d+[mhd]$/, 'expected a duration like 12h or 3d')
    .default('3d'),
  overlap: z.enum(['skip', 'queue']).default('skip'),
  /**
   * A tick's run that has not succeeded this long after the tick is late: the scheduler sends the
   * `late` webhook event once and sets nightshift_run_late{job} (off without it).
   */
  lateAfter: z
    .string()
    .regex(/^\d+[mhd]$/, 'expected a duration like 90m, 6h or 1d')
    .optional(),
});

/** A distance threshold, or `off` to compute the metric without judging it. */
const distanceThreshold = z.union([z.number().min(0), z.literal('off')]);
const psiThreshold = z.union([z.strictObject({ warn: z.number().min(0), alert: z.number().min(0) }), z.literal('off')]);

const thresholdFields = {
  psi: psiThreshold,
  jensenShannon: distanceThreshold,
  wasserstein: distanceThreshold,
  ks: distanceThreshold,
  lInfinity: distanceThreshold,
  unseenShare: distanceThreshold,
  missingShare: distanceThreshold,
};

const thresholdsSchema = z.strictObject({
  /** Population stability index over the baseline's deciles: warn above 0.1, drift above 0.25. */
  psi: thresholdFields.psi.default({ warn: 0.1, alert: 0.25 }),
  /** Jensen–Shannon distance (base 2, 0…1); Evidently's default threshold. */
  jensenShannon: thresholdFields.jensenShannon.default(0.1),
  /** Wasserstein distance in baseline standard deviations (numeric columns). */
  wasserstein: thresholdFields.wasserstein.default(0.1),
  /** Two-sample Kolmogorov–Smirnov statistic (numeric columns). */
  ks: thresholdFields.ks.default(0.1),
  /** Largest change in one category's share (categorical columns). */
  lInfinity: thresholdFields.lInfinity.default(0.1),
  /** Share of values in categories the baseline never saw (categorical columns). */
  unseenShare: thresholdFields.unseenShare.default(0.1),
  /** Change in the share of rows with this column missing or rejected. */
  missingShare: thresholdFields.missingShare.default(0.1),
});

const columnThresholdsSchema = z.strictObject({
  ...Object.fromEntries(Object.entries(thresholdFields).map(([k, v]) => [k, v.optional()])),
  /** Profile the column but never judge its drift. */
  ignore: z.boolean().optional(),
}) as z.ZodType<Partial<z.output<typeof thresholdsSchema>> & { ignore?: boolean | undefined }>;

const baselineSchema = z.union([
  /** The last successful run of this job. */
  z.literal('previous'),
  /** The baseline attached to the registry model version the job scores with. */
  z.literal('model'),
  /** A profile file written by `nightshift profile` (s3://, file:// or relative to the spec). */
  z.strictObject({ uri: z.string().min(1) }),
]);

const monitorSchema = z.strictObject({
  /** Profile every run (input and score columns); off only to measure its cost. */
  profile: z.boolean().default(true),
  /** What drift is measured against; without one, runs are profiled but not judged. */
  baseline: baselineSchema.optional(),
  /** On drift: only report it (warn), hold publication for approval (hold), or fail the run. */
  onDrift: z.enum(['warn', 'hold', 'fail']).default('warn'),
  /** Columns with fewer values than this (in the run or the baseline) are not judged. */
  minRows: z.int().min(1).default(1000),
  thresholds: thresholdsSchema.prefault({}),
  /** Per-column thresholds (by column name), overriding `thresholds`. */
  columns: z.record(columnName, columnThresholdsSchema).default({}),
  /** Largest change in the run's rejection rate (rejected / read) before it counts as drift. */
  rejectionRate: distanceThreshold.default(0.01),
});

const notifySchema = z.strictObject({
  /** Where the webhook is POSTed (http or https). */
  url: z.url({ protocol: /^https?$/ }),
  /**
   * Which events are sent: failed, held, drift (any drift verdict), succeeded, late (a scheduled
   * run not succeeded schedule.lateAfter after its tick).
   */
  events: z
    .array(z.enum(['failed', 'held', 'drift', 'succeeded', 'late']))
    .min(1)
    .default(['failed', 'held', 'drift', 'late']),
  /**
   * The NAME of the environment variable holding the signing secret (never the secret itself):
   * bodies are signed with HMAC-SHA256 over "<timestamp>.<body>".
   */
  secretEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name like NIGHTSHIFT_WEBHOOK_SECRET')
    .optional(),
  /** json: nightshift's event body; slack: a Slack incoming-webhook body ({ text }). */
  format: z.enum(['json', 'slack']).default('json'),
});

export const jobSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-_]{0,62}$/, 'expected lowercase letters, digits, - and _ (max 63)'),
  description: z.string().optional(),
  schedule: scheduleSchema.optional(),
  model: modelSchema,
  input: inputSchema,
  output: outputSchema,
  limits: limitsSchema.prefault({}),
  monitor: monitorSchema.prefault({}),
  /** Webhooks told about runs (plus NIGHTSHIFT_NOTIFY_URL from the environment, if set). */
  notify: z.array(notifySchema).default([]),
});

/** A job spec as written in YAML (defaults not yet applied). */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
/** A validated job spec with defaults applied. */
export type JobSpec = z.output<typeof jobSpecSchema>;
/** The fields that say where a model comes from. */
export type ModelSourceSpec = Pick<JobSpec['model'], 'uri' | 'ref' | 'registry' | 'sha256'>;
export type ModelInputSpec = JobSpec['model']['inputs'][number];
export type ChallengerSpec = NonNullable<JobSpec['model']['challenger']>;
export type ModelOutputSpec = JobSpec['model']['outputs'][number];
export type CsvOptions = JobSpec['input']['csv'];
export type ScheduleSpec = NonNullable<JobSpec['schedule']>;
export type MonitorSpec = JobSpec['monitor'];
export type DriftThresholds = MonitorSpec['thresholds'];
export type NotifySpec = JobSpec['notify'][number];
