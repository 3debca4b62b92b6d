/**
 * Finding and checking a run's baseline (monitor.baseline), at plan time: a baseline that is
 * corrupt, made for another model signature or missing a column fails the run with a spec error
 * before any input is read.
 *
 * - { uri }: a profile file (`nightshift profile … --out`), s3://, file:// or relative to the spec.
 * - previous: the `_profile.json` of the newest published run of the job before this date.
 * - model: the baseline attached to the registry model version (see ModelBaseline).
 */
import { JobSpecError } from '../core/errors.js';
import type { JobSpec } from '../spec/job-spec.js';
import { formatLocation, parseLocation } from '../spec/uri.js';
import { readAll } from '../storage/object-store.js';
import type { Stores } from '../storage/stores.js';
import type { BaselineRef } from '../monitor/drift-report.js';
import { parseProfileText } from '../monitor/profile-schema.js';
import { openRegistry } from '../registry/open-registry.js';
import { listRuns, PROFILE_NAME, readRunJson } from './run-listing.js';
import { profileSignature, type RunProfile } from '../monitor/run-profile.js';

export interface Baseline {
  readonly profile: RunProfile;
  readonly ref: BaselineRef;
}

/**
 * Where `baseline: model` comes from: the registry resolves the job's model reference and hands
 * over the baseline profile attached to the version (or undefined if it has none).
 */
export type ModelBaseline = () => Promise<{ uri: string; version: string; text: string } | undefined>;

export interface BaselineContext {
  readonly spec: JobSpec;
  readonly specFile: string | undefined;
  readonly baseDir: string;
  readonly stores: Stores;
  /** The run's logical date: `previous` looks strictly before it. */
  readonly logicalDate: string;
  readonly modelBaseline?: ModelBaseline;
  /**
   * The registered version the run scores with (model.ref, or --model), when it is one:
   * `baseline: model` reads the `baseline.json` attached to it.
   */
  readonly model?: { readonly name: string; readonly version: number; readonly registry: string } | undefined;
  readonly signal?: AbortSignal;
}

/** The name a baseline is attached under (`nightshift model register … --baseline FILE`). */
export const MODEL_BASELINE_FILE = 'baseline.json';

/** The baseline attached to a registered version, read through its registry. */
export function registryBaseline(stores: Stores, model: NonNullable<BaselineContext['model']>): ModelBaseline {
  return async () => {
    const registry = await openRegistry(model.registry, stores);
    const found = await registry.attachedFile(model.name, model.version, MODEL_BASELINE_FILE);
    return found ? { ...found, version: `${model.name}@${model.version}` } : undefined;
  };
}

/** The baseline, undefined when none is configured or `previous` has no earlier run yet. */
export async function loadBaseline(ctx: BaselineContext): Promise<Baseline | undefined> {
  const b = ctx.spec.monitor.baseline;
  if (b === undefined) return undefined;
  if (b === 'previous') return previousBaseline(ctx);
  if (b === 'model') {
    const source = ctx.modelBaseline ?? (ctx.model ? registryBaseline(ctx.stores, ctx.model) : undefined);
    const found = source ? await source() : undefined;
    if (!found) {
      const which = ctx.model ? `${ctx.model.name}@${ctx.model.version}` : "the job's model version";
      throw new JobSpecError(ctx.specFile, [
        `monitor.baseline: model: ${source ? `${which} has no ${MODEL_BASELINE_FILE} attached` : 'the job does not score a registered model version (model.ref)'}; register the version with --baseline FILE (a profile from \`nightshift profile\`), or use baseline: { uri } or previous`,
      ]);
    }
    return { profile: checked(ctx, found.text, found.uri), ref: { source: 'model', uri: found.uri, from: found.version } };
  }
  const loc = parseLocation(b.uri, ctx.baseDir);
  const uri = formatLocation(loc);
  const ref = ctx.stores.resolve(loc);
  let text: string;
  try {
    if (!(await ref.store.head(ref.key))) throw new Error('no such object');
    text = (await readAll(await ref.store.read(ref.key, ctx.signal ? { signal: ctx.signal } : {}))).toString('utf8');
  } catch (err) {
    throw new JobSpecError(ctx.specFile, [`monitor.baseline.uri: cannot read ${uri}: ${(err as Error).message}`]);
  }
  return { profile: checked(ctx, text, uri), ref: { source: 'uri', uri } };
}

async function previousBaseline(ctx: BaselineContext): Promise<Baseline | undefined> {
  const runs = await listRuns(ctx.stores, ctx.spec.output.uri, ctx.baseDir, ctx.spec.name, ctx.signal);
  for (const run of runs.filter((r) => r.published && r.logicalDate < ctx.logicalDate).reverse()) {
    const manifest = (await readRunJson(run.prefix, '_SUCCESS').catch(() => undefined)) as { attempt?: unknown } | undefined;
    let raw: unknown;
    try {
      raw = await readRunJson(run.prefix, PROFILE_NAME);
    } catch {
      continue;
    }
    // A later attempt of that date that failed may have rewritten the profile: only the
    // published attempt's profile is a baseline.
    if (raw === undefined || (raw as RunProfile).run?.attempt !== manifest?.attempt) continue;
    const uri = `${run.prefix.store.name}/${run.prefix.key}${PROFILE_NAME}`;
    return { profile: checked(ctx, JSON.stringify(raw), uri), ref: { source: 'previous', uri, from: (raw as RunProfile).run?.runId ?? run.logicalDate } };
  }
  return undefined;
}

function checked(ctx: BaselineContext, text: string, uri: string): RunProfile {
  let profile: RunProfile;
  try {
    profile = parseProfileText(text);
  } catch (err) {
    throw new JobSpecError(ctx.specFile, [`monitor.baseline: ${uri} is ${(err as Error).message}`]);
  }
  const issues = baselineIssues(profile, ctx.spec).map((i) => `monitor.baseline: ${uri}: ${i}`);
  if (issues.length > 0) throw new JobSpecError(ctx.specFile, issues);
  return profile;
}

/** What makes a profile unusable as this job's baseline (empty when it fits). */
export function baselineIssues(profile: RunProfile, spec: JobSpec): string[] {
  const issues: string[] = [];
  const sig = profileSignature(spec);
  for (const inp of sig.inputs) {
    const theirs = profile.signature.inputs.find((i) => i.name === inp.name);
    if (!theirs) {
      issues.push(
        `was made for another model signature: it has no model input "${inp.name}" (it has ${profile.signature.inputs.map((i) => `"${i.name}"`).join(', ') || 'none'})`,
      );
      continue;
    }
    if (theirs.dtype !== inp.dtype) issues.push(`model input "${inp.name}" is ${theirs.dtype} in the baseline, ${inp.dtype} in the job`);
  }
  const missing = sig.inputs.flatMap((i) => i.columns).filter((c) => !profile.inputs[c]);
  if (missing.length > 0) issues.push(`has no profile for input column(s) ${missing.map((c) => `"${c}"`).join(', ')}`);
  const outCols = sig.outputs.flatMap((o) => o.columns);
  const missingScores = outCols.filter((c) => !profile.scores[c]);
  if (missingScores.length > 0 && missingScores.length < outCols.length) {
    issues.push(`has no profile for score column(s) ${missingScores.map((c) => `"${c}"`).join(', ')}`);
  }
  for (const inp of sig.inputs) {
    const kind = inp.dtype === 'string' ? 'categorical' : 'numeric';
    for (const c of inp.columns) {
      const theirs = profile.inputs[c];
      if (theirs && theirs.kind !== kind) issues.push(`input column "${c}" is ${theirs.kind} in the baseline, ${kind} in the job`);
    }
  }
  return issues;
}
