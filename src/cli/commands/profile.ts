/**
 * `nightshift profile <job> --input <uri> --out <file>`: a baseline from reference data (typically
 * the training set), made by the same code as every run's profile: the job's model scores the
 * data (so the score columns have a baseline too) into a scratch folder that is then removed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { scoreRun } from '../../run/score-run.js';
import { PROFILE_NAME } from '../../run/run-listing.js';
import { formatLocation, parseLocation } from '../../spec/uri.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { loadJobArg, resolveDate } from '../job-arg.js';

export const profileHelp = `nightshift profile <job> --input URI --out FILE [--date YYYY-MM-DD]
  Profiles reference data (e.g. the training set) with the job's columns and model, and writes
  the profile to FILE (a path or s3:// URI): use it as monitor.baseline: { uri: FILE }.
  --input  the data: an object, a prefix or a glob, as input.uri (templates filled for --date)
  --out    where the baseline profile goes`;

export async function profileCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { input: { type: 'string' }, out: { type: 'string' }, date: { type: 'string' } },
  });
  const [jobArg] = positionals;
  if (!jobArg || positionals.length > 1 || !values.input || !values.out) throw new UsageError(`expected a job, --input and --out\n${profileHelp}`);
  const loaded = await loadJobArg(jobArg);
  const job = { ...loaded, spec: { ...loaded.spec, monitor: { ...loaded.spec.monitor, profile: true } } };
  const date = resolveDate(values.date, job.spec.schedule);
  const stores = new Stores();
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'nightshift-profile-'));
  try {
    const r = await scoreRun(job, stores, { date, inputUri: values.input, outputUri: `${scratch}/`, profileOnly: true });
    const text = await readFile(path.join(scratch, PROFILE_NAME), 'utf8');
    const profile = JSON.parse(text) as { run?: unknown };
    delete profile.run;
    const outLoc = parseLocation(values.out, process.cwd());
    const out = stores.resolve(outLoc);
    await out.store.write(out.key, `${JSON.stringify(profile)}\n`, { contentType: 'application/json' });
    const rows = r.report.rows;
    process.stdout.write(`profiled ${rows.read} rows (${rows.scored} scored, ${rows.rejected} rejected) of ${values.input}\nwrote ${formatLocation(outLoc)}\n`);
    return rows.scored > 0 ? EXIT.ok : EXIT.data;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    stores.close();
  }
}
