/**
 * Writes the project's generated ONNX models.
 *
 *   tsx scripts/make-models.ts <outDir>
 *
 * `writeModels(outDir)` is also importable from tests and other scripts. `npm run models` writes to
 * data/test-models/, never data/models/: the demo's fraud-mlp.onnx (scripts/make-demo.ts, another
 * seed) lives there and a model of the same name would silently replace it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildLinearClassifier, buildMlp, buildPerColumnModel, buildZipMapClassifier } from './models/models.js';
import { isMain } from './is-main.js';

/** Model name -> builder; the file written is `<name>.onnx`. Seeds are fixed so output is byte-for-byte stable. */
export const MODEL_BUILDERS = {
  'fraud-mlp': () => buildMlp({ features: 8, hidden: 16, seed: 42 }),
  'mlp-32': () => buildMlp({ features: 32, hidden: 64, seed: 32 }),
  'linear-classifier': () => buildLinearClassifier({ features: 4, classes: 3, seed: 7 }),
  'zipmap-classifier': () => buildZipMapClassifier({ features: 4, classes: 2, seed: 11 }),
  'per-column': () => buildPerColumnModel({ seed: 13 }),
} as const satisfies Record<string, () => Uint8Array>;

export type ModelName = keyof typeof MODEL_BUILDERS;

/** Build every model into `outDir` (created if missing). Returns name -> absolute file path. */
export async function writeModels(outDir: string): Promise<Record<ModelName, string>> {
  const dir = path.resolve(outDir);
  await mkdir(dir, { recursive: true });
  const result = {} as Record<ModelName, string>;
  for (const name of Object.keys(MODEL_BUILDERS) as ModelName[]) {
    const file = path.join(dir, `${name}.onnx`);
    await writeFile(file, MODEL_BUILDERS[name]());
    result[name] = file;
  }
  return result;
}

if (await isMain(import.meta.url)) {
  const outDir = process.argv[2];
  if (outDir === undefined || outDir === '' || outDir === '-h' || outDir === '--help') {
    console.error('usage: tsx scripts/make-models.ts <outDir>');
    process.exit(outDir === undefined || outDir === '' ? 2 : 0);
  }
  const written = await writeModels(outDir);
  for (const [name, file] of Object.entries(written)) console.log(`${name.padEnd(18)} ${file}`);
}
