/**
 * A run resolved once: job + logical date + overrides → its id and every location it uses
 * (input, output prefix, the job's `_latest.json` root, model). This is the only place the
 * spec's templates ({{date}}, {{runId}}, {{job}}) are rendered for a run; the plan step, the
 * shards, finalize and `score` take the result (or what the payloads carry of it) and never
 * derive a location again.
 */
import type { JobSpec } from '../spec/job-spec.js';
import type { LoadedJob } from '../spec/load-spec.js';
import { errorsName, joinKey, partName, shardName, unshiftedErrorsName } from './output-layout.js';
import { planUnits, type ShardUnit } from './plan-units.js';
import type { InputObject } from './resolve-inputs.js';
import { renderTemplate, type TemplateValues } from '../spec/templates.js';
import { formatLocation, parseLocation, type Location } from '../spec/uri.js';
import { runIdFor } from './run-identity.js';

export interface RunOverrides {
  /** Replaces input.uri (templates allowed), e.g. `score --input`. */
  readonly inputUri?: string | undefined;
  /** Replaces output.uri (templates allowed), e.g. `score --output`: such a run moves no `_latest.json`. */
  readonly outputUri?: string | undefined;
}

export interface ResolvedRun {
  readonly runId: string;
  readonly job: string;
  readonly logicalDate: string;
  /** input.uri rendered: a prefix (ending in /), a glob in its last segment, or one object. */
  readonly inputUri: string;
  /** The run's output prefix. */
  readonly output: Location;
  readonly outputUri: string;
  /** Where the job's `_latest.json` lives; undefined when the output was overridden. */
  readonly latestRoot: Location | undefined;
  /** model.uri rendered and resolved against the spec's folder (undefined when the job names a registry ref). */
  readonly modelUri: string | undefined;
}

/** What resolving needs of a loaded job: its spec and the folder relative URIs resolve against. */
export type JobRef = Pick<LoadedJob, 'spec' | 'baseDir'>;

export function resolveRun(job: JobRef, logicalDate: string, overrides: RunOverrides = {}): ResolvedRun {
  const { spec, baseDir } = job;
  const runId = runIdFor(spec.name, logicalDate);
  const values: TemplateValues = { date: logicalDate, runId, job: spec.name };
  const output = parseLocation(renderTemplate(overrides.outputUri ?? spec.output.uri, values), baseDir);
  return {
    runId,
    job: spec.name,
    logicalDate,
    inputUri: renderTemplate(overrides.inputUri ?? spec.input.uri, values),
    output,
    outputUri: formatLocation(output),
    latestRoot: overrides.outputUri === undefined ? jobOutputRoot(job) : undefined,
    modelUri: spec.model.uri === undefined ? undefined : formatLocation(parseLocation(renderTemplate(spec.model.uri, values), baseDir)),
  };
}

/**
 * The job's output root, where `_latest.json` points at its newest published date: the output
 * template with {{job}} filled in, up to the first template left ({{date}}, {{runId}}). So
 * `out/{{job}}/{{date}}/` gives each job its own pointer at `out/<job>/`.
 */
export function jobOutputRoot(job: JobRef): Location {
  const withJob = renderTemplate(job.spec.output.uri, { job: job.spec.name });
  const i = withJob.indexOf('{{');
  return parseLocation(i === -1 ? withJob : withJob.slice(0, withJob.lastIndexOf('/', i) + 1), job.baseDir);
}

/** One shard of a planned run: what it reads and the keys (in the output store) it writes. */
export interface PlannedShard {
  readonly shard: string;
  readonly unit: ShardUnit;
  readonly partKey: string;
  readonly errorsKey: string;
}

/**
 * Cuts a run's inputs into shards and names their outputs: the one place a shard's part and
 * errors keys are made (the executors hand them to scoreShard as they are).
 */
export async function planShards(
  spec: JobSpec,
  inputs: readonly InputObject[],
  outputKey: string,
  attempt: string,
  signal?: AbortSignal,
): Promise<PlannedShard[]> {
  const units = await planUnits(spec, inputs, signal);
  return units.map((unit, i) => {
    const shard = shardName(i);
    return { shard, unit, ...shardKeys(spec, outputKey, attempt, shard, unit.range?.speculative === true) };
  });
}

/**
 * A shard's part and errors keys. A range of a speculative split writes its errors with lines
 * counted from its start, under a name of its own (finalize numbers them: speculative-ranges.ts).
 */
export function shardKeys(spec: JobSpec, outputKey: string, attempt: string, shard: string, speculative: boolean): { partKey: string; errorsKey: string } {
  const errors = speculative ? unshiftedErrorsName(shard, attempt) : errorsName(shard, attempt);
  return { partKey: joinKey(outputKey, partName(spec, shard, attempt)), errorsKey: joinKey(outputKey, errors) };
}
