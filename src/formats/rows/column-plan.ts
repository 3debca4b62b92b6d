/**
 * What both batch builders (general and fast path) share: resolving the job's columns against a
 * file's header, allocating a batch, trimming a full one, and the invalid_utf8 rule.
 */
import { InputError } from '../../core/errors.js';
import type { ColumnarBatch, FeatureArray } from '../../core/types.js';
import type { ModelInputSpec } from '../../spec/job-spec.js';
import type { ColumnOptions } from '../../spec/component-options.js';

/** A column the job reads: an id, a model input or a passthrough column. */
export interface UsedColumn {
  readonly index: number;
  readonly name: string;
}

export interface InputPlan {
  readonly spec: ModelInputSpec;
  readonly indexes: number[];
}

/** The job's columns resolved against one header. */
export interface ColumnPlan {
  readonly fieldCount: number;
  readonly inputs: readonly InputPlan[];
  readonly idIndexes: number[];
  readonly passIndexes: number[];
  /** Columns the job reads, in the order rows are checked: ids, model inputs, passthrough. */
  readonly used: readonly UsedColumn[];
}

/** Refuses missing or ambiguous (duplicated) columns the job uses, naming file and line. */
export function planColumns(header: readonly string[], spec: ColumnOptions, object: string, headerLine: number): ColumnPlan {
  const index = columnIndex(header, object, headerLine);
  const resolve = (cols: readonly string[]): number[] => cols.map((c) => index(c));
  const inputs = spec.model.inputs.map((s) => ({ spec: s, indexes: resolve(s.columns) }));
  const idIndexes = resolve(spec.input.id);
  const passIndexes = resolve(spec.input.passthrough);
  // By position: one column may be both an id and a feature.
  const used = new Map<number, string>();
  for (const c of [...spec.input.id, ...spec.model.inputs.flatMap((i) => i.columns), ...spec.input.passthrough]) {
    const i = index(c);
    if (!used.has(i)) used.set(i, c);
  }
  return { fieldCount: header.length, inputs, idIndexes, passIndexes, used: [...used].map(([i, name]) => ({ index: i, name })) };
}

/** An empty batch with room for `batchRows` rows of every model input. */
export function allocateBatch(plan: ColumnPlan, batchRows: number): ColumnarBatch {
  const features = new Map<string, FeatureArray>();
  for (const input of plan.inputs) {
    const size = batchRows * input.indexes.length;
    const arr: FeatureArray =
      input.spec.dtype === 'float32'
        ? new Float32Array(size)
        : input.spec.dtype === 'float64'
          ? new Float64Array(size)
          : input.spec.dtype === 'int64'
            ? new BigInt64Array(size)
            : new Array<string>(size).fill('');
    features.set(input.spec.name, arr);
  }
  return { rows: 0, features, ids: plan.idIndexes.map(() => []), passthrough: plan.passIndexes.map(() => []), lines: [] };
}

/** Cuts a batch's feature arrays to the rows it holds (views for typed arrays). */
export function trimBatch(b: ColumnarBatch, plan: ColumnPlan): ColumnarBatch {
  for (const input of plan.inputs) {
    const arr = b.features.get(input.spec.name) as FeatureArray;
    const n = b.rows * input.indexes.length;
    b.features.set(input.spec.name, Array.isArray(arr) ? arr.slice(0, n) : arr.subarray(0, n));
  }
  return b;
}

/**
 * Bytes that are not valid in the input's encoding decode to U+FFFD. Scoring or copying that
 * text would silently change features, ids and passthrough values, so such a row is rejected
 * (reason invalid_utf8), naming the first used column that holds one; unused columns do not
 * matter. The rule is on the bytes: a U+FFFD written in the file as such (EF BF BD) is valid
 * text and passes. Both paths apply it (BatchBuilder, FastBatchBuilder).
 */
export function invalidTextColumn(used: readonly UsedColumn[], isInvalid: (index: number) => boolean): UsedColumn | undefined {
  for (const c of used) if (isInvalid(c.index)) return c;
  return undefined;
}

export function invalidTextDetail(encoding: string): string {
  return `the cell holds bytes that are not valid ${encoding} (decoded as U+FFFD); is input.csv.encoding right?`;
}

/** Header name → index, refusing missing or ambiguous (duplicated) names the job uses. */
function columnIndex(header: readonly string[], object: string, line: number): (name: string) => number {
  const positions = new Map<string, number[]>();
  header.forEach((h, i) => positions.set(h, [...(positions.get(h) ?? []), i]));
  return (name) => {
    const at = positions.get(name);
    if (!at) {
      const shown = header
        .slice(0, 20)
        .map((h) => JSON.stringify(h))
        .join(', ');
      const hint = header.length === 1 && /[;\t|,]/.test(header[0] ?? '') ? '; the header has a single column: is input.csv.delimiter right?' : '';
      throw new InputError({ object, line, column: name }, `column "${name}" is not in the header (found: ${shown}${header.length > 20 ? ', …' : ''})${hint}`);
    }
    if (at.length > 1)
      throw new InputError(
        { object, line, column: name },
        `column "${name}" appears ${at.length} times in the header (positions ${at.map((i) => i + 1).join(', ')})`,
      );
    return at[0] as number;
  };
}
