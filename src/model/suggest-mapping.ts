/**
 * A starting point for a job's `model:` mapping, from what a model declares and (optionally)
 * the columns of a sample of its input: `nightshift inspect` prints it, `nightshift init` writes
 * it. Columns are matched by name first (a per-column model's input `amount` takes the column
 * `amount`), then in file order; whatever could not be decided is said in `notes`.
 */
import type { Dtype } from '../spec/job-spec.js';
import type { ModelSignature } from './signature.js';
import type { ZipMapRewrite } from './zipmap-rewrite.js';

export interface SuggestedMapping {
  readonly inputs: { name: string; columns: string[]; dtype: Dtype }[];
  readonly outputs: { name: string; columns: string[] }[];
  /** Identifier column(s) found in the sample (input.id). */
  readonly id: string[];
  /** Sample columns that feed no model input (input.passthrough). */
  readonly passthrough: string[];
  /** What a person must check or fill in. */
  readonly notes: string[];
}

export interface ColumnSample {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, string | null>[];
}

type Tensor = ModelSignature['inputs'][number];

const DTYPES: Record<string, Dtype> = { float32: 'float32', float64: 'float64', int64: 'int64', string: 'string' };

/** Columns a [N, k] tensor takes: k, 1 for [N] / [N, 1], undefined when the model does not say. */
function widthOf(t: Tensor): number | undefined {
  if (t.shape.length <= 1) return 1;
  if (t.shape.length === 2 && typeof t.shape[1] === 'number' && t.shape[1] > 0) return t.shape[1];
  return undefined;
}

function isNumericColumn(sample: ColumnSample, column: string): boolean {
  let seen = 0;
  for (const row of sample.rows) {
    const v = row[column];
    if (v === null || v === undefined || v.trim() === '') continue;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) return false;
    seen++;
  }
  return seen > 0;
}

const ID_NAME = /^(id|key|uuid|.*[_-]id|.*Id)$/;

export function suggestMapping(signature: ModelSignature, zipMaps: readonly ZipMapRewrite[], sample?: ColumnSample): SuggestedMapping {
  const notes: string[] = [];
  const used = new Set<string>();
  const id = sample ? sample.columns.filter((c) => ID_NAME.test(c)).slice(0, 1) : [];
  id.forEach((c) => used.add(c));
  const numeric = sample ? sample.columns.filter((c) => isNumericColumn(sample, c)) : [];
  const text = sample ? sample.columns.filter((c) => !numeric.includes(c)) : [];
  const free = (pool: readonly string[]): string[] => pool.filter((c) => !used.has(c));

  const inputs = signature.inputs.map((t) => {
    const dtype = DTYPES[t.type];
    if (!dtype) notes.push(`model input "${t.name}" is ${t.type}: nightshift feeds float32, float64, int64 or string tensors`);
    const width = widthOf(t);
    let columns: string[];
    if (sample && width === 1 && sample.columns.includes(t.name) && !used.has(t.name)) {
      columns = [t.name];
    } else if (sample) {
      const pool = free(dtype === 'string' ? text : numeric);
      const only = signature.inputs.length === 1;
      columns = pool.slice(0, width ?? (only ? pool.length : 1));
      if (width !== undefined && columns.length < width) {
        notes.push(
          `model input "${t.name}" takes ${width} column(s); the sample has ${columns.length} ${dtype === 'string' ? 'text' : 'numeric'} column(s) left for it: complete its columns`,
        );
      } else if (width === undefined) {
        notes.push(`model input "${t.name}" has shape [${t.shape.join(', ')}]: check that its ${columns.length} column(s) are the ones it expects, in order`);
      } else if (width > 1) {
        notes.push(`model input "${t.name}": columns taken in file order; check that the order is the one the model was trained with`);
      }
    } else {
      columns = width === 1 ? [t.name] : Array.from({ length: width ?? 1 }, (_, i) => `${t.name}_${i}`);
      if (width === undefined) notes.push(`model input "${t.name}" has shape [${t.shape.join(', ')}]: list the columns it takes`);
    }
    columns.forEach((c) => used.add(c));
    if (columns.length === 0) columns = [`${t.name}_0`];
    return { name: t.name, columns, dtype: dtype ?? 'float32' };
  });
  if (!sample)
    notes.push("input columns are named after the model inputs: rename them to your data's columns (nightshift init --input FILE matches them for you)");

  const taken = new Set([...id, ...(sample ? free(sample.columns) : [])]);
  const outputName = (wanted: string): string => {
    let name = wanted;
    for (let i = 2; taken.has(name); i++) name = `${wanted}_${i}`;
    taken.add(name);
    return name;
  };
  const outputs = signature.outputs.flatMap((t) => {
    if (t.type === 'non-tensor') {
      notes.push(`model output "${t.name}" is not a tensor (a sequence or map): onnxruntime-node cannot return it, so it is left out`);
      return [];
    }
    const zipMap = zipMaps.find((z) => z.output === t.name);
    const width = widthOf(t);
    let columns: string[];
    if (zipMap) columns = zipMap.classLabels.map((l) => outputName(`p_${String(l).replace(/[^A-Za-z0-9_]/g, '_')}`));
    else if (width === 1) columns = [outputName(t.name)];
    else if (width !== undefined) columns = Array.from({ length: width }, (_, i) => outputName(`${t.name}_${i}`));
    else {
      columns = [outputName(t.name)];
      notes.push(`model output "${t.name}" has shape [${t.shape.join(', ')}]: give it one column per element of its second dimension`);
    }
    return [{ name: t.name, columns }];
  });
  return { inputs, outputs, id, passthrough: sample ? free(sample.columns) : [], notes };
}
