/**
 * What a run for a date would read, checked before any run exists (`validate --date`): the
 * job's templates rendered for the date, the input objects listed, and the head of the first
 * one read to check it has every column the job uses. Nothing is written.
 */
import { closest } from '../core/did-you-mean.js';
import { InputError } from '../core/errors.js';
import { sampleInput } from '../formats/sample-input.js';
import type { JobSpec } from '../spec/job-spec.js';
import { formatLocation, parseLocation } from '../spec/uri.js';
import type { Stores } from '../storage/stores.js';
import { resolveInputs, type InputObject } from './resolve-inputs.js';
import { resolveRun, type JobRef, type ResolvedRun } from './run-plan.js';

export interface InputCheck {
  readonly run: ResolvedRun;
  /** input.uri rendered for the date and resolved against the spec's folder. */
  readonly input: string;
  /** The objects the run would read (empty when none were found). */
  readonly objects: readonly InputObject[];
  /** The object whose head was read, and its columns. */
  readonly sampled?: { readonly object: string; readonly columns: readonly string[] } | undefined;
  /** What would make the run fail before it scores a row. */
  readonly problems: readonly string[];
}

/** Every column the job reads, with the field that names it. */
export function columnsUsed(spec: JobSpec): { column: string; field: string }[] {
  return [
    ...spec.model.inputs.flatMap((inp, i) => inp.columns.map((column) => ({ column, field: `model.inputs.${i}.columns, input "${inp.name}"` }))),
    ...spec.input.id.map((column) => ({ column, field: 'input.id' })),
    ...spec.input.passthrough.map((column) => ({ column, field: 'input.passthrough' })),
  ];
}

export async function checkRunInputs(job: JobRef, date: string, stores: Stores): Promise<InputCheck> {
  const run = resolveRun(job, date);
  const input = formatLocation(parseLocation(run.inputUri, job.baseDir));
  let objects: InputObject[];
  try {
    objects = await resolveInputs(run.inputUri, job.baseDir, stores);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { run, input, objects: [], problems: [`input.uri "${job.spec.input.uri}" for ${date}: ${err.message}`] };
  }
  const first = objects[0] as InputObject;
  const { spec } = job;
  let columns: string[];
  try {
    columns = (await sampleInput(first, { format: spec.input.format, csv: spec.input.csv, maxRows: 20 })).columns;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { run, input, objects, problems: [err.message] };
  }
  const have = new Set(columns);
  const problems = columnsUsed(spec)
    .filter((u) => !have.has(u.column))
    .map((u) => {
      const near = closest(u.column, columns);
      return `${first.display} has no column "${u.column}" (${u.field})${near === undefined ? '' : `; did you mean "${near}"?`}`;
    });
  if (problems.length > 0) problems.push(`${first.display} has the columns: ${columns.join(', ')}`);
  return { run, input, objects, sampled: { object: first.display, columns }, problems };
}
