/**
 * The profile of a run (or of reference data): every model input column and every score column,
 * collected batch by batch inside a shard and merged across shards at finalize. The JSON form
 * (RunProfile) is what a shard returns, what `_profile.json` and baseline files hold, and what
 * drift is computed from; it is deterministic (fixed key order, sketches in key order).
 */
import type { ColumnarBatch, FeatureArray, RejectedRow, RejectReason, ScoreColumns } from '../core/types.js';
import type { ModelMappingOptions } from '../spec/component-options.js';
import {
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

export class ProfileCollector {
  private readonly inputs = new Map<string, ColumnCollector>();
  private readonly scores = new Map<string, ColumnCollector>();
  private readonly rows: ProfileRows = { read: 0, scored: 0, rejected: 0, rejectedByReason: {} };
  private sample: SketchRows = { rows: undefined, weight: 1 };
  private sketched = 0;
  private seed = 0x2545f491;

  constructor(
    readonly signature: ProfileSignature,
    private readonly sampling: SketchSampling = DEFAULT_SAMPLING,
  ) {
    for (const inp of signature.inputs) {
      for (const c of inp.columns) if (!this.inputs.has(c)) this.inputs.set(c, inp.dtype === 'string' ? new CategoricalColumn() : new NumericColumn());
    }
  }

  /** The model inputs of a batch; call before scoring (a thread scorer transfers the arrays). */
  addBatch(batch: ColumnarBatch): void {
    this.rows.read += batch.rows;
    this.rows.scored += batch.rows;
    this.sample = this.pickSample(batch.rows);
    for (const inp of this.signature.inputs) {
      const values = batch.features.get(inp.name);
      if (!values) continue;
      const width = inp.columns.length;
      inp.columns.forEach((c, j) => addValues(this.inputs.get(c) as ColumnCollector, values, j, width, batch.rows, this.sample));
    }
  }

  /** The score columns of the batch last given to addBatch. */
  addScores(scores: readonly ScoreColumns[], rows: number): void {
    this.signature.outputs.forEach((o, i) => {
      const s = scores[i];
      if (!s) return;
      o.columns.forEach((c, j) => {
        let col = this.scores.get(c);
        if (!col) {
          col = isNumeric(s.values) ? new NumericColumn() : new CategoricalColumn();
          this.scores.set(c, col);
        }
        addValues(col, s.values, j, s.width, rows, this.sample);
      });
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

function addValues(col: ColumnCollector, values: FeatureArray | ScoreColumns['values'], j: number, width: number, rows: number, sample: SketchRows): void {
  if (col instanceof NumericColumn) {
    if (isNumeric(values)) col.add(values, j, width, rows, sample);
  } else if (Array.isArray(values)) col.add(values, j, width, rows);
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
