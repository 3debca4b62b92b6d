/**
 * The profile of a run (or of reference data): every model input column and every score column,
 * collected batch by batch inside a shard and merged across shards at finalize. The JSON form
 * (RunProfile) is what a shard returns, what `_profile.json` and baseline files hold, and what
 * drift is computed from; it is deterministic (fixed key order, sketches in key order).
 */
import type { ColumnarBatch, FeatureArray, RejectedRow, RejectReason, ScoreColumns } from '../core/types.js';
import type { ModelMappingOptions } from '../spec/component-options.js';
import {
  addRowMajor,
  CategoricalColumn,
  collectorFor,
  mergeColumn,
  NumericColumn,
  sortedRejections,
  type ColumnCollector,
  type ColumnJson,
  type NumericArray,
  type SketchRows,
} from './column-profile.js';

export const PROFILE_FORMAT = 'nightshift-profile/1';

/** The model's columns, as the job maps them: a baseline must match it. */
export interface ProfileSignature {
  inputs: { name: string; columns: string[]; dtype: string }[];
  outputs: { name: string; columns: string[] }[];
}

export interface ProfileRows {
  read: number;
  scored: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
}

export interface RunProfile {
  format: typeof PROFILE_FORMAT;
  signature: ProfileSignature;
  /** The run this profile is of (absent for reference data). */
  run?: { runId: string; attempt: string; logicalDate: string };
  rows: ProfileRows;
  inputs: Record<string, ColumnJson>;
  scores: Record<string, ColumnJson>;
}

/**
 * How a shard feeds its quantile sketches: the first `exactRows` rows all go in (so small data is
 * sketched exactly), then one row in `sampleEvery` at random with weight `sampleEvery`. Counts,
 * missing, min, max, mean and std always cover every row.
 */
export interface SketchSampling {
  exactRows: number;
  sampleEvery: number;
}

export const DEFAULT_SAMPLING: SketchSampling = { exactRows: 8_192, sampleEvery: 32 };

export function profileSignature(spec: ModelMappingOptions): ProfileSignature {
  return {
    inputs: spec.model.inputs.map((i) => ({ name: i.name, columns: [...i.columns], dtype: i.dtype })),
    outputs: spec.model.outputs.map((o) => ({ name: o.name, columns: [...o.columns] })),
  };
}

/**
 * The collectors of one row-major array's columns, by position: undefined where a column was
 * already profiled from an earlier input or output of the same name (same cells, counted once).
 */
interface ColumnGroup {
  readonly numeric: (NumericColumn | undefined)[];
  readonly categorical: (CategoricalColumn | undefined)[];
}

export class ProfileCollector {
  private readonly inputs = new Map<string, ColumnCollector>();
  private readonly scores = new Map<string, ColumnCollector>();
  private readonly inputGroups: ColumnGroup[];
  private scoreGroups: ColumnGroup[] | undefined;
  private readonly rows: ProfileRows = { read: 0, scored: 0, rejected: 0, rejectedByReason: {} };
  private sample: SketchRows = { rows: undefined, weight: 1 };
  private sketched = 0;
  private seed = 0x2545f491;

  constructor(
    readonly signature: ProfileSignature,
    private readonly sampling: SketchSampling = DEFAULT_SAMPLING,
  ) {
    this.inputGroups = signature.inputs.map((inp) => groupOf(this.inputs, inp.columns, inp.dtype !== 'string'));
  }

  /** The model inputs of a batch; call before scoring (a thread scorer transfers the arrays). */
  addBatch(batch: ColumnarBatch): void {
    this.rows.read += batch.rows;
    this.rows.scored += batch.rows;
    this.sample = this.pickSample(batch.rows);
    this.signature.inputs.forEach((inp, i) => {
      const values = batch.features.get(inp.name);
      if (values) addGroup(this.inputGroups[i] as ColumnGroup, values, batch.rows, this.sample);
    });
  }

  /** The score columns of the batch last given to addBatch. */
  addScores(scores: readonly ScoreColumns[], rows: number): void {
    // A score's type is known from the first batch (numeric or text).
    this.scoreGroups ??= this.signature.outputs.map((o, i) => {
      const s = scores[i];
      return groupOf(this.scores, s ? o.columns : [], s !== undefined && isNumeric(s.values));
    });
    this.scoreGroups.forEach((g, i) => {
      const s = scores[i];
      if (s) addGroup(g, s.values, rows, this.sample);
    });
  }

  addRejected(row: RejectedRow): void {
    this.rows.read++;
    this.rows.rejected++;
    this.rows.rejectedByReason[row.reason] = (this.rows.rejectedByReason[row.reason] ?? 0) + 1;
    const col = row.column === undefined ? undefined : this.inputs.get(row.column);
    if (col) col.rejected[row.reason] = (col.rejected[row.reason] ?? 0) + 1;
  }

  toJson(): RunProfile {
    return {
      format: PROFILE_FORMAT,
      signature: this.signature,
      rows: { ...this.rows, rejectedByReason: sortedRejections(this.rows.rejectedByReason) },
      inputs: columnsJson(this.inputs),
      scores: columnsJson(this.scores),
    };
  }

  /** Adds a profile (a shard's, or a whole run's) to this one. */
  merge(p: RunProfile): void {
    this.rows.read += p.rows.read;
    this.rows.scored += p.rows.scored;
    this.rows.rejected += p.rows.rejected;
    for (const [r, n] of Object.entries(p.rows.rejectedByReason) as [RejectReason, number][]) {
      this.rows.rejectedByReason[r] = (this.rows.rejectedByReason[r] ?? 0) + n;
    }
    mergeColumns(this.inputs, p.inputs);
    mergeColumns(this.scores, p.scores);
  }

  private pickSample(rows: number): SketchRows {
    const every = this.sampling.sampleEvery;
    const exact = this.sketched < this.sampling.exactRows || every <= 1;
    this.sketched += rows;
    if (exact) return { rows: undefined, weight: 1 };
    // One random row in each run of `every` rows: a uniform sample with no periodic aliasing.
    const picked = new Int32Array(Math.ceil(rows / every));
    let n = 0;
    for (let start = 0; start < rows; start += every) {
      const r = start + Math.floor(this.random() * every);
      if (r < rows) picked[n++] = r;
    }
    return { rows: picked.subarray(0, n), weight: every };
  }

  /** mulberry32: deterministic, so the same input gives the same profile. */
  private random(): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Merges the profiles of a run's shards (in shard order, for determinism); undefined if none. */
export function mergeProfiles(profiles: readonly RunProfile[]): RunProfile | undefined {
  const first = profiles[0];
  if (!first) return undefined;
  const c = new ProfileCollector(first.signature);
  for (const p of profiles) c.merge(p);
  return c.toJson();
}

function isNumeric(v: ScoreColumns['values']): v is NumericArray {
  return !Array.isArray(v);
}

/** Collectors for `columns`, registered in `into` by name; a name already there is skipped. */
function groupOf(into: Map<string, ColumnCollector>, columns: readonly string[], numeric: boolean): ColumnGroup {
  const fresh = columns.map((c, j) => (into.has(c) || columns.indexOf(c) !== j ? undefined : c));
  const numericCols = fresh.map((c) => (c !== undefined && numeric ? new NumericColumn() : undefined));
  const categoricalCols = fresh.map((c) => (c !== undefined && !numeric ? new CategoricalColumn() : undefined));
  fresh.forEach((c, j) => {
    if (c !== undefined) into.set(c, (numericCols[j] ?? categoricalCols[j]) as ColumnCollector);
  });
  return { numeric: numericCols, categorical: categoricalCols };
}

function addGroup(g: ColumnGroup, values: FeatureArray | ScoreColumns['values'], rows: number, sample: SketchRows): void {
  if (isNumeric(values)) {
    if (g.numeric.some((c) => c !== undefined)) addRowMajor(g.numeric, values, rows, sample);
    return;
  }
  const width = g.categorical.length;
  g.categorical.forEach((c, j) => c?.add(values, j, width, rows));
}

function mergeColumns(into: Map<string, ColumnCollector>, from: Record<string, ColumnJson>): void {
  for (const [name, j] of Object.entries(from)) {
    let c = into.get(name);
    if (!c) {
      c = collectorFor(j);
      into.set(name, c);
    }
    mergeColumn(c, j);
  }
}

function columnsJson(m: Map<string, ColumnCollector>): Record<string, ColumnJson> {
  return Object.fromEntries([...m].map(([k, c]) => [k, c.toJson()]));
}
