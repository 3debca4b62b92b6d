/**
 * `nightshift inspect <model.onnx | s3://…>`: what a model declares (inputs and outputs with
 * names, element types and shapes; IR version, producer, opsets; ZipMap outputs and their
 * classes), and a `model:` block to start a job spec from — so nobody learns a model's input
 * names from a failed validate.
 */
import { parseArgs } from 'node:util';
import { readModelHeader, type ModelHeader } from '../../model/model-header.js';
import { inspectModel } from '../../model/model-signature.js';
import { suggestMapping, type SuggestedMapping } from '../../model/suggest-mapping.js';
import type { ModelSignature } from '../../model/signature.js';
import type { ZipMapRewrite } from '../../model/zipmap-rewrite.js';
import { formatLocation, parseLocation } from '../../spec/uri.js';
import { readAll } from '../../storage/object-store.js';
import { Stores } from '../../storage/stores.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { modelBlock } from '../spec-snippet.js';

export const inspectHelp = `nightshift inspect <model.onnx | s3://bucket/key> [--json]
  Shows a model's inputs and outputs (names, element types, shapes), its IR version, producer
  and opsets, ZipMap outputs (rewritten to one column per class), and a model: block for a job
  spec. Then: nightshift init --model FILE --input SAMPLE writes a whole starter job.
  --json   the same as JSON`;

export interface ModelInspection {
  readonly uri: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly header: ModelHeader;
  readonly signature: ModelSignature;
  readonly zipMaps: readonly ZipMapRewrite[];
  readonly suggested: SuggestedMapping;
}

/** Reads and loads the model (as a run would: ZipMap rewritten, onnxruntime session). */
export async function inspectModelAt(uri: string, stores: Stores): Promise<ModelInspection> {
  const loc = parseLocation(uri, process.cwd());
  const display = formatLocation(loc);
  const { store, key } = stores.resolve(loc);
  const bytes = await readAll(await store.read(key));
  const header = readModelHeader(bytes, display);
  const inspected = await inspectModel(bytes, display);
  const zipMaps = inspected.model.zipMapRewrites;
  return {
    uri: display,
    bytes: bytes.length,
    sha256: inspected.model.sha256,
    header,
    signature: inspected.signature,
    zipMaps,
    suggested: suggestMapping(inspected.signature, zipMaps),
  };
}

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const [uri] = positionals;
  if (!uri || positionals.length > 1) throw new UsageError(`expected one model file or URI\n${inspectHelp}`);
  const stores = new Stores();
  try {
    const m = await inspectModelAt(uri, stores);
    process.stdout.write(values.json ? `${JSON.stringify(m, null, 2)}\n` : describe(m));
    return EXIT.ok;
  } finally {
    stores.close();
  }
}

function describe(m: ModelInspection): string {
  const h = m.header;
  const tensor = (t: ModelSignature['inputs'][number]): string => `${t.type} [${t.shape.join(', ')}]`;
  const width = Math.max(...[...m.signature.inputs, ...m.signature.outputs].map((t) => t.name.length), 4);
  const out = [
    `model ${m.uri}`,
    `  ${formatBytes(m.bytes)}, sha256 ${m.sha256}`,
    `  IR version ${h.irVersion ?? '?'}${h.producer ? `, produced by ${h.producer}` : ''}; opsets: ${h.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || 'none'}`,
    `  operators: ${h.operators
      .slice(0, 12)
      .map((o) => (o.count > 1 ? `${o.op} ×${o.count}` : o.op))
      .join(', ')}${h.operators.length > 12 ? ', …' : ''}`,
    '',
    'inputs:',
    ...m.signature.inputs.map((t) => `  ${t.name.padEnd(width)}  ${tensor(t)}`),
    'outputs:',
    ...m.signature.outputs.map((t) => {
      const z = m.zipMaps.find((r) => r.output === t.name);
      return `  ${t.name.padEnd(width)}  ${tensor(t)}${z ? `  (ZipMap in the file, rewritten at load: one column per class ${z.classLabels.map((l) => JSON.stringify(l)).join(', ')})` : ''}`;
    }),
    '',
    "a model: block for a job spec (rename the columns to your data's):",
    '',
    modelBlock(m.uri, m.suggested, 2),
    '',
    ...m.suggested.notes.filter((n) => !n.startsWith('input columns are named after')).map((n) => `note: ${n}`),
  ];
  return `${out.join('\n').trimEnd()}\n`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u] ?? 'TiB'}`;
}
