/**
 * What the registry stores, as JSON objects next to the models. Every record is validated with
 * zod when read: a record someone edited by hand or truncated is reported as corrupt, naming the
 * object and the field, never half-used.
 */
import { z } from 'zod';
import { RegistryError } from '../core/errors.js';
import { signatureSchema, type ModelSignature } from '../model/signature.js';

export { signatureSchema, type ModelSignature };

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** A file attached to a version (a drift baseline, training metrics), stored beside the model. */
const attachedFile = z.strictObject({ file: z.string(), sha256, size: z.number().int().min(0) });
export type AttachedFile = z.infer<typeof attachedFile>;

/** `<name>/versions/<n>/version.json`: written once, after the model; a version exists iff it does. */
export const versionRecordSchema = z.strictObject({
  format: z.literal(1),
  name: z.string(),
  version: z.number().int().min(1),
  sha256,
  size: z.number().int().min(0),
  createdAt: z.string(),
  createdBy: z.string(),
  description: z.string().optional(),
  /** The file name it was registered from, for people reading the record. */
  source: z.string().optional(),
  signature: signatureSchema,
  files: z.record(z.string(), attachedFile).default({}),
});
export type VersionRecord = z.infer<typeof versionRecordSchema>;

/**
 * `<name>/aliases/<alias>.json`, replaced by compare-and-swap on every move; the same record is
 * kept, once per generation, under `<name>/history/<alias>/`.
 */
export const aliasRecordSchema = z.strictObject({
  format: z.literal(1),
  name: z.string(),
  alias: z.string(),
  version: z.number().int().min(1),
  /** The version the alias pointed to before this move (what rollback returns to). */
  previous: z.number().int().min(1).nullable(),
  /** 1 for the alias's first move, +1 per move: names the history entry of the move. */
  generation: z.number().int().min(1),
  movedAt: z.string(),
  movedBy: z.string(),
  reason: z.string(),
  /** Random id of the move: a writer recognises its own write when it re-reads the alias. */
  moveId: z.string(),
});
export type AliasRecord = z.infer<typeof aliasRecordSchema>;

export function parseRecord<T>(schema: z.ZodType<T>, text: string, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RegistryError(`${where} is corrupt: not valid JSON (${(err as Error).message}); nothing was changed`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
    throw new RegistryError(`${where} is corrupt: ${issues}; nothing was changed`);
  }
  return r.data;
}

/** Human-readable differences between two signatures (empty when they match). */
export function signatureChanges(before: ModelSignature, after: ModelSignature): string[] {
  const changes: string[] = [];
  for (const side of ['inputs', 'outputs'] as const) {
    const was = new Map(before[side].map((t) => [t.name, t]));
    const now = new Map(after[side].map((t) => [t.name, t]));
    const noun = side === 'inputs' ? 'input' : 'output';
    for (const [name, t] of was) if (!now.has(name)) changes.push(`${noun} "${name}" (${describe(t)}) was removed`);
    for (const [name, t] of now) {
      const old = was.get(name);
      if (!old) changes.push(`${noun} "${name}" (${describe(t)}) is new`);
      else if (describe(old) !== describe(t)) changes.push(`${noun} "${name}" changed from ${describe(old)} to ${describe(t)}`);
    }
  }
  return changes;
}

export function describe(t: ModelSignature['inputs'][number]): string {
  return `${t.type} [${t.shape.join(', ')}]`;
}
