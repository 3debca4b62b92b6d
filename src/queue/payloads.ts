/**
 * BullMQ job data, validated with zod when a worker picks a job up (it came from Redis, so from
 * outside). Payloads carry the job spec's text, so every shard of a run scores with the same
 * spec even if the file changes mid-run, and never carry secrets.
 */
import { z } from 'zod';
import { ATTEMPT_PATTERN } from '../run/output-layout.js';

const runRef = {
  runId: z.string().min(1),
  attempt: z.string().regex(ATTEMPT_PATTERN),
  job: z.string().min(1),
  logicalDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** The spec file's path and text at trigger time. */
  specFile: z.string().min(1),
  specText: z.string().min(1),
  /** ISO time the attempt was triggered. */
  triggeredAt: z.string(),
};

export const planPayloadSchema = z.strictObject({
  kind: z.literal('plan'),
  ...runRef,
  /** Wait for earlier active runs of the same job before planning (overlap: queue, backfills). */
  serial: z.boolean().optional(),
  /** A registered version to score with instead of the job's model (trigger --model fraud@7). */
  model: z.string().min(1).optional(),
});
export type PlanPayload = z.infer<typeof planPayloadSchema>;

export const shardPayloadSchema = z.strictObject({
  kind: z.literal('shard'),
  ...runRef,
  shard: z.string().regex(/^\d{5}$/),
  object: z.strictObject({ uri: z.string(), size: z.number().int().min(0) }),
  range: z
    .strictObject({
      start: z.number().int().min(0),
      end: z.number().int().min(0),
      header: z.array(z.string()),
      linesBefore: z.number().int().min(0),
      /** A range of a speculative split (run/plan-units.ts): lines count from linesBefore as given. */
      speculative: z.literal(true).optional(),
    })
    .optional(),
  outputUri: z.string(),
  /** Keys in the output store the shard writes (named by the plan). */
  partKey: z.string().min(1),
  errorsKey: z.string().min(1),
  /** The model the plan resolved and checked (a registered version's object for a ref); a shard refuses other bytes. */
  modelUri: z.string(),
  modelSha256: z.string(),
  /** The challenger the plan resolved, loaded and checked (model.challenger), pinned like the model. */
  challenger: z.strictObject({ uri: z.string(), sha256: z.string(), name: z.string() }).optional(),
});
export type ShardPayload = z.infer<typeof shardPayloadSchema>;

/** A model as the report names it (report/model-facts.ts). */
const modelFactsSchema = z.strictObject({
  uri: z.string(),
  sha256: z.string(),
  zipMapRewrites: z.array(z.strictObject({ output: z.string(), classLabels: z.array(z.union([z.string(), z.number()])) })),
  name: z.string().optional(),
  version: z.number().int().optional(),
  alias: z.string().optional(),
  ref: z.string().optional(),
  registry: z.string().optional(),
});

export const finalizePayloadSchema = z.strictObject({
  kind: z.literal('finalize'),
  ...runRef,
  inputUri: z.string(),
  outputUri: z.string(),
  /** The job's output root, whose _latest.json a published run moves (absent: none). */
  latestUri: z.string().optional(),
  shards: z.number().int().min(0),
  plannedAt: z.string(),
  model: modelFactsSchema,
  /** The challenger as the plan found it (model.challenger): its model, or why it is not used. */
  challenger: z.strictObject({ model: modelFactsSchema.optional(), failure: z.string().optional() }).optional(),
});
export type FinalizePayload = z.infer<typeof finalizePayloadSchema>;

export type RunRef = Pick<PlanPayload, 'runId' | 'attempt' | 'job' | 'logicalDate' | 'specFile' | 'specText' | 'triggeredAt'>;
