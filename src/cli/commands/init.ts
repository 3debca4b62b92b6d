/**
 * `nightshift init --model m.onnx [--input sample.csv] [--name N] [--out FILE]`: writes a
 * starter job spec whose model mapping comes from the model's inputs and outputs and, with a
 * sample, from the sample's columns (by name first, then in file order), then validates it the
 * way `validate` does. What could not be decided is written as TODO comments and printed.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { JobSpecError } from '../../core/errors.js';
import { sampleInput, type InputSample } from '../../formats/sample-input.js';
import { suggestMapping } from '../../model/suggest-mapping.js';
import { parseJobSpec } from '../../spec/load-spec.js';
import { formatLocation, parseLocation } from '../../spec/uri.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jobsDir } from '../job-arg.js';
import { starterJobYaml } from '../spec-snippet.js';
import { inspectModelAt } from './inspect.js';
import { validateCommand } from './validate.js';

export const initHelp = `nightshift init --model FILE|s3://… [--input SAMPLE] [--name NAME] [--out FILE] [--format F] [--force]
  Writes a starter job spec: the model mapping from the model's inputs and outputs, columns
  matched to SAMPLE's (by name, then in file order), id and passthrough columns, input and
  output URIs; then validates it. TODO comments say what to check.
  --input   a sample of the data (csv, jsonl or parquet; .gz too); only its head is read
  --name    the job name (default: from the model file name)
  --out     where to write the spec (default: <jobs folder>/<name>.yaml)
  --format  csv | jsonl | parquet (default: from the sample's name, else csv)
  --force   replace an existing file`;

const FORMATS = ['csv', 'jsonl', 'parquet'] as const;
type Format = (typeof FORMATS)[number];

function formatOf(file: string | undefined, given: string | undefined): Format {
  if (given !== undefined) {
    if (!(FORMATS as readonly string[]).includes(given)) throw new UsageError(`--format "${given}": expected csv, jsonl or parquet`);
    return given as Format;
  }
  const name = (file ?? '').replace(/\.gz$/, '');
  if (/\.(jsonl|ndjson|json)$/i.test(name)) return 'jsonl';
  if (/\.parquet$/i.test(name)) return 'parquet';
  return 'csv';
}

/** A job name from a file name: "Fraud Model v3.onnx" → fraud-model-v3. */
function nameFrom(file: string): string {
  const base = path.posix.basename(file).replace(/\.onnx$/i, '');
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|-+$/g, '')
    .slice(0, 63);
  return name === '' ? 'my-job' : name;
}

/** A location as a spec beside `specDir` names it: relative for local files, as given for s3://. */
function relativeTo(specDir: string, uri: string): string {
  const loc = parseLocation(uri, process.cwd());
  if (loc.kind === 's3') return formatLocation(loc);
  const rel = path.relative(specDir, loc.path);
  return rel.startsWith('..') || rel.includes('/') ? rel : `./${rel}`;
}

/**
 * The sample's location with its date replaced by {{date}}: a folder per date becomes that
 * folder (every object in it is read), a date in the file name stays a single object.
 */
function inputTemplate(rel: string): { uri: string; date: string | undefined } {
  const m = /(^|\/)(\d{4}-\d{2}-\d{2})\//.exec(rel);
  if (m) return { uri: `${rel.slice(0, m.index + (m[1] ?? '').length)}{{date}}/`, date: m[2] };
  const inName = /\d{4}-\d{2}-\d{2}/.exec(rel);
  return inName ? { uri: rel.replace(inName[0], '{{date}}'), date: inName[0] } : { uri: rel, date: undefined };
}

export async function initCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      input: { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      force: { type: 'boolean' },
    },
  });
  if (!values.model || positionals.length > 0) throw new UsageError(`expected --model\n${initHelp}`);
  const format = formatOf(values.input, values.format);
  const name = values.name ?? nameFrom(values.model);
  const out = path.resolve(values.out ?? path.join(jobsDir(), `${name}.yaml`));
  if (existsSync(out) && !values.force) throw new UsageError(`${out} exists; pass --force to replace it, or --out another file`);
  const specDir = path.dirname(out);

  const stores = new Stores();
  let text: string;
  let sampleDate: string | undefined;
  try {
    const model = await inspectModelAt(values.model, stores);
    let sample: InputSample | undefined;
    if (values.input) {
      const loc = parseLocation(values.input, process.cwd());
      const { store, key } = stores.resolve(loc);
      const info = await store.head(key);
      if (!info) throw new UsageError(`--input ${formatLocation(loc)}: no such object`);
      sample = await sampleInput(
        { store, key, display: formatLocation(loc), size: info.size },
        { format, csv: { header: true, delimiter: ',', quote: '"', encoding: 'utf8', relaxQuotes: false }, maxRows: 200 },
      );
    }
    const mapping = suggestMapping(model.signature, model.zipMaps, sample);
    const notes = [...mapping.notes];
    let inputUri = `${relativeTo(specDir, path.resolve('in', name))}/{{date}}/`;
    if (values.input) {
      const t = inputTemplate(relativeTo(specDir, values.input));
      // A folder per date: read every object in it, or only this format's files when it is not
      // CSV (a folder often holds a CSV next to the Parquet).
      const ext = /\.(parquet|jsonl|ndjson)(\.gz)?$/i.exec(values.input)?.[0];
      inputUri = t.uri.endsWith('/') && ext ? `${t.uri}*${ext}` : t.uri;
      sampleDate = t.date;
      if (t.date === undefined)
        notes.push(`input.uri is the sample itself: put {{date}} where each day's data differs (e.g. "in/{{date}}/" for a folder per date)`);
    } else {
      notes.push("input.uri: where the data for each date lands ({{date}} is the run's logical date, YYYY-MM-DD)");
    }
    const schemaFile = fileURLToPath(new URL('../../../jobs/job.schema.json', import.meta.url));
    text = starterJobYaml({
      name,
      modelUri: relativeTo(specDir, values.model),
      mapping,
      inputUri,
      format,
      outputUri: `${relativeTo(specDir, path.resolve('out', name))}/{{date}}/`,
      notes,
      schema: existsSync(schemaFile) ? path.relative(specDir, schemaFile) : undefined,
    });
    // Only a spec that parses is written; the model check is validate's (below).
    try {
      parseJobSpec(text, out);
    } catch (err) {
      if (err instanceof JobSpecError) throw new JobSpecError(out, [...err.issues, 'this is a bug in init: please report it with the model and sample']);
      throw err;
    }
    await mkdir(specDir, { recursive: true });
    await writeFile(out, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), out) || out} (job ${name})\n${notes.map((n) => `  TODO ${n}\n`).join('')}`);
  } finally {
    stores.close();
  }
  // With a dated sample, validate also reads what a run for that date would (the sample's folder).
  process.stdout.write(`validating it${sampleDate ? ` for ${sampleDate}` : ''}:\n`);
  const code = await validateCommand(sampleDate ? [out, '--date', sampleDate] : [out]);
  return code === EXIT.ok ? EXIT.ok : code;
}
