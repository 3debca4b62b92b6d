/**
 * Checks the job's input/output mapping against what the model declares, before any data is
 * read. Every mismatch is reported at once, saying what the model actually has.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { JobSpecError } from '../core/errors.js';
import type { ModelMappingOptions } from '../spec/component-options.js';

type Meta = InferenceSession.ValueMetadata;

/** What a model declares: a session's, or one reported by an inference thread. */
export type ModelMetadata = Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>;

export function checkModelMapping(spec: ModelMappingOptions, session: ModelMetadata, specFile: string | undefined, modelUri: string): void {
  const problems: string[] = [];
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  const fed = new Set<string>();
  spec.model.inputs.forEach((inp, i) => {
    fed.add(inp.name);
    const m = inputs.get(inp.name);
    if (!m) {
      problems.push(`model.inputs.${i}.name: model ${modelUri} has no input "${inp.name}" (it has: ${describeAll(session.inputMetadata)})`);
      return;
    }
    if (!m.isTensor) {
      problems.push(`model.inputs.${i}: model input "${inp.name}" is not a tensor; nightshift feeds tensors only`);
      return;
    }
    if (m.type !== inp.dtype) problems.push(`model.inputs.${i}.dtype: model input "${inp.name}" is ${m.type}, the job says ${inp.dtype}`);
    const widthProblem = widthMismatch(m.shape, inp.columns.length);
    if (widthProblem) problems.push(`model.inputs.${i}.columns: model input "${inp.name}" has shape ${shapeText(m.shape)}; ${widthProblem}`);
  });
  for (const m of session.inputMetadata) {
    if (!fed.has(m.name)) problems.push(`model.inputs: model input "${m.name}" (${describe(m)}) is not fed by the job`);
  }
  spec.model.outputs.forEach((out, i) => {
    const m = outputs.get(out.name);
    if (!m) {
      problems.push(`model.outputs.${i}.name: model ${modelUri} has no output "${out.name}" (it has: ${describeAll(session.outputMetadata)})`);
      return;
    }
    if (!m.isTensor) {
      problems.push(
        `model.outputs.${i}: model output "${out.name}" is not a tensor (a sequence or map); onnxruntime-node cannot return it — map the tensor that feeds it instead`,
      );
      return;
    }
    const widthProblem = widthMismatch(m.shape, out.columns.length);
    if (widthProblem) problems.push(`model.outputs.${i}.columns: model output "${out.name}" has shape ${shapeText(m.shape)}; ${widthProblem}`);
  });
  // The last line names the model (for a registered version: which one the alias pointed to).
  if (problems.length > 0) throw new JobSpecError(specFile, [...problems, `model: ${modelUri} does not fit the job's mapping`]);
}

/** Rows are the first dimension; the second (if any) must match the number of columns. */
function widthMismatch(shape: ReadonlyArray<number | string>, columns: number): string | undefined {
  if (shape.length === 0 || shape.length > 2) return `nightshift maps [N] or [N, k] tensors only`;
  if (shape.length === 1) return columns === 1 ? undefined : `a [N] tensor maps to exactly 1 column, the job lists ${columns}`;
  const k = shape[1];
  if (typeof k === 'number' && k >= 0 && k !== columns) return `it has ${k} values per row, the job lists ${columns} column(s)`;
  return undefined;
}

function shapeText(shape: ReadonlyArray<number | string>): string {
  return `[${shape.map((d) => (typeof d === 'number' && d < 0 ? '?' : String(d))).join(', ')}]`;
}

function describe(m: Meta): string {
  return m.isTensor ? `${m.type} ${shapeText(m.shape)}` : 'non-tensor';
}

function describeAll(ms: readonly Meta[]): string {
  return ms.map((m) => `"${m.name}" ${describe(m)}`).join(', ') || 'none';
}
