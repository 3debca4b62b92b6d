/**
 * Reads a job spec file, validates it once, and returns a resolved, trusted JobSpec.
 * Every problem is reported at once, each naming the field path, what was expected and what was found.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import cron from 'node-cron';
import { closest } from '../core/did-you-mean.js';
import { JobSpecError, UriError } from '../core/errors.js';
import { jobSpecSchema, type JobSpec, type ModelSourceSpec } from './job-spec.js';
import { knownKeysAt } from './known-keys.js';
import { parseModelRef } from './model-ref.js';
import { unknownTemplates, renderTemplate } from './templates.js';
import { isWithin, parseLocation, type Location } from './uri.js';
import { findUnquotedTemplates, unquotedTemplateIssues, yamlErrorIssues } from './yaml-hints.js';

export interface LoadedJob {
  readonly spec: JobSpec;
  /** Absolute path of the spec file; relative URIs resolve against its folder. */
  readonly file: string;
  readonly baseDir: string;
  /** The YAML as validated: what run payloads carry, so workers score with exactly this spec. */
  readonly text: string;
}

export async function loadJobFile(file: string): Promise<LoadedJob> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new JobSpecError(abs, [`cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`], { cause: err });
  }
  return parseJobSpec(text, abs);
}

export function parseJobSpec(text: string, file: string): LoadedJob {
  // Before the parser: an unquoted {{date}} gives a cascade of YAML errors (or a map where a
  // string belongs, and a Node warning from toJS); one line saying "quote it" is what helps.
  const unquoted = findUnquotedTemplates(text);
  if (unquoted.length > 0) throw new JobSpecError(file, unquotedTemplateIssues(unquoted));
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new JobSpecError(file, yamlErrorIssues(doc.errors));
  const raw: unknown = doc.toJS();
  const parsed = jobSpecSchema.safeParse(raw);
  if (!parsed.success)
    throw new JobSpecError(
      file,
      parsed.error.issues.flatMap((i) => describeIssue(i, raw)),
    );
  const baseDir = path.dirname(file);
  const problems = semanticProblems(parsed.data, baseDir);
  if (problems.length > 0) throw new JobSpecError(file, problems);
  return { spec: parsed.data, file, baseDir, text };
}

/** Loads every *.yaml / *.yml in a folder; one bad file does not hide the others' errors. */
export async function loadJobsDir(dir: string): Promise<{ jobs: LoadedJob[]; errors: JobSpecError[] }> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const jobs: LoadedJob[] = [];
  const errors: JobSpecError[] = [];
  for (const n of names) {
    try {
      jobs.push(await loadJobFile(path.join(dir, n)));
    } catch (err) {
      if (err instanceof JobSpecError) errors.push(err);
      else throw err;
    }
  }
  return { jobs, errors };
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string[] {
  if (issue.code === 'unrecognized_keys') {
    // One line per key, with the nearest key the schema allows there.
    const known = knownKeysAt(jobSpecSchema, issue.path);
    return issue.keys.map((k) => {
      const near = closest(k, known);
      return `${[...issue.path, k].join('.')}: unknown key${near === undefined ? '' : `; did you mean "${near}"?`} (known here: ${known.join(', ')})`;
    });
  }
  const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  let found = '';
  if (issue.path.length > 0) {
    const value = valueAt(raw, issue.path);
    found = value === undefined ? ' (missing)' : `; found ${JSON.stringify(value)?.slice(0, 80)}`;
  }
  return [`${where}: ${issue.message}${found}`];
}

function valueAt(root: unknown, pathParts: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of pathParts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function semanticProblems(spec: JobSpec, baseDir: string): string[] {
  const problems: string[] = [];
  if (spec.schedule) {
    if (!cron.validate(spec.schedule.cron)) problems.push(`schedule.cron: "${spec.schedule.cron}" is not a valid cron expression`);
    if (!isValidTimeZone(spec.schedule.timezone)) {
      problems.push(`schedule.timezone: "${spec.schedule.timezone}" is not a known IANA time zone (e.g. Europe/Berlin)`);
    }
  }
  problems.push(...sourceProblems('model', spec.model));
  if (spec.model.challenger) problems.push(...sourceProblems('model.challenger', spec.model.challenger), ...challengerProblems(spec));
  const uris = [
    ['model.uri', spec.model.uri],
    ['model.challenger.uri', spec.model.challenger?.uri],
    ['input.uri', spec.input.uri],
    ['output.uri', spec.output.uri],
  ] as const;
  for (const [field, uri] of uris) {
    for (const t of unknownTemplates(uri ?? '')) problems.push(`${field}: unknown template {{${t}}} (known: date, runId, job)`);
  }
  problems.push(...columnProblems(spec));
  const sample = { date: '2000-01-01', runId: 'run', job: spec.name };
  // Each URI is checked on its own so one bad URI does not hide problems in the others.
  const locate = (field: string, uri: string): Location | undefined => {
    try {
      return parseLocation(uri, baseDir);
    } catch (err) {
      if (!(err instanceof UriError)) throw err;
      problems.push(`${field}: ${err.message}`);
      return undefined;
    }
  };
  if (spec.model.uri !== undefined) locate('model.uri', renderTemplate(spec.model.uri, sample));
  if (spec.model.challenger?.uri !== undefined) locate('model.challenger.uri', renderTemplate(spec.model.challenger.uri, sample));
  const input = locate('input.uri', staticPrefix(renderTemplate(spec.input.uri, sample)));
  const output = locate('output.uri', renderTemplate(spec.output.uri, sample));
  if (input && output && (isWithin(output, input) || isWithin(input, output))) {
    problems.push(
      `output.uri: the output prefix must not be equal to, inside, or around the input prefix (outputs would be read as inputs); found output.uri "${spec.output.uri}", input.uri "${spec.input.uri}"`,
    );
  }
  return problems;
}

/** A model comes from exactly one of a file (uri) or a registered version (ref). */
function sourceProblems(field: string, src: ModelSourceSpec): string[] {
  if (src.uri === undefined && src.ref === undefined) return [`${field}: give either uri (a model file) or ref (a registered version, e.g. fraud@champion)`];
  if (src.uri !== undefined && src.ref !== undefined) return [`${field}: give uri or ref, not both (found uri "${src.uri}" and ref "${src.ref}")`];
  if (src.uri !== undefined && src.registry !== undefined) return [`${field}.registry: only used with ref (found uri "${src.uri}")`];
  if (src.ref === undefined) return [];
  try {
    parseModelRef(src.ref);
    return [];
  } catch (err) {
    return [`${field}.ref: ${(err as Error).message}`];
  }
}

/** A challenger's columns are compared with the champion's of the same name: each must be one. */
function challengerProblems(spec: JobSpec): string[] {
  const c = spec.model.challenger;
  if (!c) return [];
  const problems: string[] = [];
  const champion = new Set(spec.model.outputs.flatMap((o) => o.columns));
  const seen = new Set<string>();
  c.outputs?.forEach((o, i) =>
    o.columns.forEach((col, j) => {
      const where = `model.challenger.outputs.${i}.columns.${j}`;
      if (!champion.has(col))
        problems.push(
          `${where}: "${col}" is not a column of model.outputs (challenger columns are compared with the champion's of the same name: ${[...champion].join(', ')})`,
        );
      else if (seen.has(col)) problems.push(`${where}: column "${col}" is listed twice`);
      seen.add(col);
    }),
  );
  if (c.threshold !== undefined && typeof c.threshold === 'object') {
    for (const col of Object.keys(c.threshold)) {
      if (!champion.has(col)) problems.push(`model.challenger.threshold.${col}: not a score column (the job's score columns: ${[...champion].join(', ')})`);
    }
  }
  return problems;
}

function columnProblems(spec: JobSpec): string[] {
  const problems: string[] = [];
  const { csv } = spec.input;
  if (!csv.header && !csv.columns) problems.push('input.csv.columns: required when input.csv.header is false');
  if (csv.delimiter === csv.quote) problems.push('input.csv: delimiter and quote must differ');
  if (spec.output.format === 'parquet' && spec.output.gzip) {
    problems.push('output.gzip: Parquet parts are compressed inside (snappy row groups); set gzip: false with format parquet');
  }
  for (const [i, inp] of spec.model.inputs.entries()) {
    if (inp.missing === 'nan' && (inp.dtype === 'int64' || inp.dtype === 'string')) {
      problems.push(`model.inputs.${i}.missing: "nan" only applies to float32/float64 inputs (found dtype ${inp.dtype})`);
    }
  }
  const outNames = new Map<string, string>();
  const claim = (name: string, where: string): void => {
    const prev = outNames.get(name);
    if (prev) problems.push(`${where}: output column "${name}" is already produced by ${prev}`);
    else outNames.set(name, where);
  };
  spec.input.id.forEach((c, i) => claim(c, `input.id.${i}`));
  spec.input.passthrough.forEach((c, i) => claim(c, `input.passthrough.${i}`));
  spec.model.outputs.forEach((o, i) => o.columns.forEach((c, j) => claim(c, `model.outputs.${i}.columns.${j}`)));
  return problems;
}

/** The part of a glob before its first wildcard. */
export function staticPrefix(uri: string): string {
  const i = uri.search(/[*?[]/);
  return i === -1 ? uri : uri.slice(0, uri.lastIndexOf('/', i) + 1);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
