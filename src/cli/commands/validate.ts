/** `nightshift validate [paths]`: checks job specs and the models they name. */
import { stat } from 'node:fs/promises';
import { AccessError, JobSpecError, ModelError, RegistryError } from '../../core/errors.js';
import { checkModelMapping } from '../../model/check-mapping.js';
import { createSession, fetchModel } from '../../model/load-model.js';
import { modelDisplayName, resolveModelSource } from '../../registry/resolve-model.js';
import { defaultLogicalDate } from '../../run/run-identity.js';
import { loadJobFile, loadJobsDir, type LoadedJob } from '../../spec/load-spec.js';
import { Stores } from '../../storage/stores.js';
import { EXIT } from '../exit-codes.js';
import { jobsDir } from '../job-arg.js';

export const validateHelp = `nightshift validate [paths…]
  Validates job specs (files or folders; default: the jobs folder) and checks each model's
  inputs and outputs against the spec's mapping. Exit 0 when all are valid, 2 otherwise.`;

/** Valid but probably not meant: said, not failed. */
export function specWarnings(job: LoadedJob): string[] {
  const warnings: string[] = [];
  if (!/\{\{\s*(date|runId)\s*\}\}/.test(job.spec.output.uri)) {
    warnings.push(`output.uri "${job.spec.output.uri}" has no {{date}} or {{runId}}: every day's run writes to the same prefix and replaces the previous one`);
  }
  return warnings;
}

export async function validateCommand(argv: string[]): Promise<number> {
  const paths = argv.length > 0 ? argv : [jobsDir()];
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
        const date = defaultLogicalDate(new Date(), 'UTC', 'previous-day');
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
        process.stdout.write(`ok   ${job.file} (job ${job.spec.name}, model sha256 ${model.sha256.slice(0, 12)}…)\n`);
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
