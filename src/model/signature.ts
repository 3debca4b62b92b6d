/**
 * What a model declares: its inputs and outputs with element types and shapes. The registry
 * stores it with each version (registry/registry-records.ts); model-signature.ts reads it from
 * a loaded session.
 */
import { z } from 'zod';

const tensorSignature = z.strictObject({
  name: z.string(),
  /** onnxruntime's element type (float32, int64, string…), or "non-tensor". */
  type: z.string(),
  /** Dimensions; symbolic ones (the batch dimension) as their name or "?". */
  shape: z.array(z.union([z.number(), z.string()])),
});

export const signatureSchema = z.strictObject({
  inputs: z.array(tensorSignature),
  outputs: z.array(tensorSignature),
});
export type ModelSignature = z.infer<typeof signatureSchema>;
