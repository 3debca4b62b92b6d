/**
 * Validation of profiles read from outside (baseline files, `_profile.json` of earlier runs):
 * a corrupt or foreign file is refused with what was wrong, before any data is read.
 */
import { z } from 'zod';
import { PROFILE_FORMAT, type RunProfile } from './run-profile.js';

const count = z.number().int().min(0);
const rejections = z.record(z.string(), count);
const bucketRun = z.strictObject({ start: z.number().int(), counts: z.array(z.number().min(0)) });

const numeric = z.strictObject({
  kind: z.literal('numeric'),
  count,
  missing: count,
  rejected: rejections,
  nonFinite: count,
  min: z.number().nullable(),
  max: z.number().nullable(),
  moments: z.strictObject({ count, mean: z.number(), m2: z.number().min(0) }),
  sketch: z.strictObject({ relativeAccuracy: z.number(), zeros: z.number().min(0), positive: bucketRun, negative: bucketRun }),
});

const categorical = z.strictObject({
  kind: z.literal('categorical'),
  count,
  missing: count,
  rejected: rejections,
  top: z.strictObject({ n: z.number().min(0), items: z.array(z.tuple([z.string(), z.number().min(0)])) }),
  distinct: z.strictObject({ hashes: z.array(z.number()) }),
});

const column = z.discriminatedUnion('kind', [numeric, categorical]);

export const runProfileSchema = z.strictObject({
  format: z.literal(PROFILE_FORMAT),
  signature: z.strictObject({
    inputs: z.array(z.strictObject({ name: z.string(), columns: z.array(z.string()), dtype: z.string() })),
    outputs: z.array(z.strictObject({ name: z.string(), columns: z.array(z.string()) })),
  }),
  run: z.strictObject({ runId: z.string(), attempt: z.string(), logicalDate: z.string() }).optional(),
  rows: z.strictObject({ read: count, scored: count, rejected: count, rejectedByReason: rejections }),
  inputs: z.record(z.string(), column),
  scores: z.record(z.string(), column),
});

/** Parses profile JSON text; throws an Error whose message says what is wrong. */
export function parseProfileText(text: string): RunProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`, { cause: err });
  }
  if (value !== null && typeof value === 'object' && (value as { format?: unknown }).format !== PROFILE_FORMAT) {
    throw new Error(
      `not a nightshift profile (format is ${JSON.stringify((value as { format?: unknown }).format)}, expected "${PROFILE_FORMAT}"; write one with \`nightshift profile\`)`,
    );
  }
  const r = runProfileSchema.safeParse(value);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(`not a valid profile: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : r.error.message}`);
  }
  return r.data as RunProfile;
}
