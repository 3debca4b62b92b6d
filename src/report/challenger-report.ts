/**
 * The report's `challenger` section: the challenger's model, its status, and the comparison per
 * score column, merged from every shard's states (challenger-comparison.ts). A challenger never
 * decides the run's status: this section only reports.
 */
import type { ShardResult } from '../core/types.js';
import { mergeComparison, summariseComparison, type ComparisonState, type ComparisonSummary } from './challenger-comparison.js';
import type { ModelFacts } from './model-facts.js';

/** What the run knew of its challenger before the shards: its model, or why it could not be used. */
export interface ChallengerFacts {
  readonly model?: ModelFacts | undefined;
  /** Set when the challenger failed before any shard (not found, not loadable, does not fit the job). */
  readonly failure?: string | undefined;
}

export interface ChallengerSection {
  /** compared: every shard scored and compared it; failed: see reason (the run went on without it). */
  status: 'compared' | 'failed';
  reason?: string;
  model: ModelFacts | null;
  /** Rows both models scored and were compared on. */
  rows: number;
  /** Time in the challenger's session.run, summed over shards (it overlaps the champion's). */
  inferenceMs: number;
  /** Its parts, relative to the run's output (`_challenger/part-…`): ids and its score columns. */
  parts: string[];
  comparison: Record<string, ComparisonSummary>;
}

export function challengerSection(facts: ChallengerFacts, shards: readonly ShardResult[], runFailed: boolean): ChallengerSection {
  const base = { model: facts.model ?? null, rows: 0, inferenceMs: 0, parts: [] as string[], comparison: {} };
  if (facts.failure !== undefined) return { status: 'failed', reason: facts.failure, ...base };
  const merged = new Map<string, ComparisonState>();
  let failure: string | undefined;
  for (const s of shards) {
    const c = s.challenger;
    if (!c) failure ??= `shard ${s.shard} has no challenger result`;
    else if (c.status === 'failed') failure ??= `shard ${s.shard}: ${c.reason ?? 'failed'}`;
    if (!c) continue;
    base.rows += c.rows;
    base.inferenceMs += c.inferenceMs;
    if (c.partKey !== undefined) base.parts.push(relativeName(c.partKey));
    for (const [col, st] of Object.entries(c.columns) as [string, ComparisonState][]) {
      const prev = merged.get(col);
      merged.set(col, prev ? mergeComparison(prev, st) : st);
    }
  }
  if (failure !== undefined) return { status: 'failed', reason: failure, ...base, parts: [] };
  return {
    status: 'compared',
    ...base,
    parts: runFailed ? [] : base.parts,
    comparison: Object.fromEntries([...merged].map(([col, st]) => [col, summariseComparison(st)])),
  };
}

/** `_challenger/part-…` from the part's key. */
function relativeName(key: string): string {
  const i = key.lastIndexOf('/');
  const j = key.lastIndexOf('/', i - 1);
  return key.slice(j + 1);
}

/** The challenger in a few lines, for `score`'s summary and `nightshift output --comparison`. */
export function challengerLines(c: ChallengerSection | undefined): string[] {
  if (!c) return [];
  const m = c.model;
  const name = m ? (m.name !== undefined ? `${m.name}@${m.version ?? '?'}${m.alias ? ` (${m.name}@${m.alias})` : ''}` : m.uri) : 'challenger';
  if (c.status === 'failed') return [`  challenger ${name}: failed (the run went on without it): ${c.reason ?? ''}`];
  const lines = [`  challenger ${name}: compared on ${c.rows} rows`];
  for (const [col, s] of Object.entries(c.comparison)) {
    if (s.kind === 'label') {
      lines.push(`    ${col}: label agreement ${pct(s.agreement)}`);
      continue;
    }
    const t = s.threshold ? `, agreement at ${s.threshold.value} ${pct(s.threshold.agreement)}` : '';
    lines.push(
      `    ${col}: mean |Δ| ${fmt(s.meanAbsDiff)}, max |Δ| ${fmt(s.maxAbsDiff)}, Pearson ${fmt(s.pearson)}, Spearman ${fmt(s.spearman)}, PSI ${fmt(s.psi)}${t}`,
    );
  }
  return lines;
}

/** The same in one line, for the run's record (`nightshift run`, GET /runs/:id). */
export function challengerSummary(c: ChallengerSection): string {
  return challengerLines(c)
    .map((l) => l.trim().replace(/^challenger /, ''))
    .join('; ');
}

function fmt(v: number | null): string {
  return v === null ? '—' : Number(v.toPrecision(4)).toString();
}

function pct(v: number | null): string {
  return v === null ? '—' : `${(v * 100).toFixed(2)} %`;
}
