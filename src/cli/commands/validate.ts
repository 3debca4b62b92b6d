/** `nightshift validate [paths]`: checks job specs and the models they name. */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { AccessError, JobSpecError, ModelError, RegistryError } from '../../core/errors.js';
import { checkModelMapping } from '../../model/check-mapping.js';
import { createSession, fetchModel, type LoadedModel } from '../../model/load-model.js';
import type { ModelMetadata } from '../../model/check-mapping.js';
import { planChallenger } from '../../run/challenger-model.js';
import { modelDisplayName, resolveModelSource } from '../../registry/resolve-model.js';
import { checkRunInputs, type InputCheck } from '../../run/check-inputs.js';
import { defaultLogicalDate } from '../../run/run-identity.js';
import { loadJobFile, loadJobsDir, type LoadedJob } from '../../spec/load-spec.js';
import { Stores } from '../../storage/stores.js';
import { EXIT } from '../exit-codes.js';
import { jobsDir, resolveDate } from '../job-arg.js';
import { formatBytes } from './inspect.js';

export const validateHelp = `nightshift validate [paths…] [--date YYYY-MM-DD]
  Validates job specs (files or folders; default: the jobs folder) and checks each model's
  inputs and outputs against the spec's mapping. Exit 0 when all are valid, 2 otherwise.
  --date   also render the templates for that logical date, list the input objects a run would
           read and check the first one's header (or Parquet schema) has every column the job
           uses; reads only the head of one object`;

/** Valid but probably not meant: said, not failed. */
export function specWarnings(job: LoadedJob): string[] {
  const warnings: string[] = [];
  if (!/\{\{\s*(date|runId)\s*\}\}/.test(job.spec.output.uri)) {
    warnings.push(`output.uri "${job.spec.output.uri}" has no {{date}} or {{runId}}: every day's run writes to the same prefix and replaces the previous one`);
  }
  return warnings;
}

export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { date: { type: 'string' } } });
  const checkDate = values.date === undefined ? undefined : resolveDate(values.date, undefined);
  const paths = positionals.length > 0 ? positionals : [jobsDir()];
  const jobs: LoadedJob[] = [];
  const errors: Error[] = [];
  for (const p of paths) {
    if ((await stat(p).catch(() => undefined))?.isDirectory()) {
      const found = await loadJobsDir(p);
      jobs.push(...found.jobs);
      errors.push(...found.errors);
    } else {
      try {
        jobs.push(await loadJobFile(p));
      } catch (err) {
        if (!(err instanceof JobSpecError)) throw err;
        errors.push(err);
      }
    }
  }
  const stores = new Stores();
  try {
    for (const job of jobs) {
      try {
        const date = checkDate ?? defaultLogicalDate(new Date(), 'UTC', 'previous-day');
        const values = { date, runId: `${job.spec.name}@${date}`, job: job.spec.name };
        // A model.ref is looked up in its registry, as a run's plan would.
        const source = await resolveModelSource(job.spec.model, job.baseDir, stores, values);
        const model = await fetchModel(source, stores);
        const session = await createSession(model, 1);
        try {
          checkModelMapping(job.spec, session, job.file, modelDisplayName(source));
        } finally {
          await session.release();
        }
        // A run would go on without a challenger that fails; validate says so before any run does.
        const challenger = await planChallenger(job, stores, values, {
          fetch: (s) => fetchModel(s, stores),
          metadata: (m, threads) => sessionMetadata(m, threads),
        });
        if (challenger?.facts.failure !== undefined) {
          errors.push(new JobSpecError(job.file, [`model.challenger: ${challenger.facts.failure} (runs would score without it)`]));
          continue;
        }
        const inputs = checkDate === undefined ? undefined : await checkRunInputs(job, checkDate, stores);
        if (inputs && inputs.problems.length > 0) {
          errors.push(new JobSpecError(job.file, inputs.problems));
          continue;
        }
        process.stdout.write(`ok   ${job.file} (job ${job.spec.name}, model sha256 ${model.sha256.slice(0, 12)}…)\n`);
        if (inputs) process.stdout.write(describeInputs(inputs));
        for (const w of specWarnings(job)) process.stdout.write(`warn ${job.file}: ${w}\n`);
      } catch (err) {
        // An AccessError (credentials refused, a model path missing here) is this check's failure too.
        if (!(err instanceof JobSpecError || err instanceof ModelError || err instanceof AccessError || err instanceof RegistryError)) throw err;
        errors.push(err instanceof JobSpecError ? err : new JobSpecError(job.file, [err.message]));
      }
    }
  } finally {
    stores.close();
  }
  for (const e of errors) process.stdout.write(`FAIL ${e.message}\n`);
  return errors.length === 0 ? EXIT.ok : EXIT.spec;
}

/** What a model declares, from a session opened and released here. */
async function sessionMetadata(model: LoadedModel, threads: number): Promise<ModelMetadata> {
  const session = await createSession(model, threads);
  try {
    return { inputMetadata: session.inputMetadata, outputMetadata: session.outputMetadata };
  } finally {
    await session.release();
  }
}

/** What the run for the date would read and write, as `validate --date` prints it. */
function describeInputs(c: InputCheck): string {
  const total = c.objects.reduce((n, o) => n + o.size, 0);
  const shown = c.objects.slice(0, 20).map((o) => `       ${o.display}  ${formatBytes(o.size)}\n`);
  const more = c.objects.length > shown.length ? `       … and ${c.objects.length - shown.length} more\n` : '';
  const header = c.sampled ? `     ${c.sampled.object}: every column the job uses is there (${c.sampled.columns.length} columns)\n` : '';
  return `     run ${c.run.runId} would read ${c.objects.length} object(s), ${formatBytes(total)}, from ${c.input}:\n${shown.join('')}${more}${header}     and write ${c.run.outputUri}\n`;
}
