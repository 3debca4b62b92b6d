/**
 * Builds everything `npm run demo` needs under data/: the sample fraud model and three input
 * files for logical date 2026-11-28 (one gzipped, a few deliberately bad rows).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMlp } from './models/models.js';
import { writeSampleCsv } from './sample-data.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.join(root, 'data');
const date = '2026-11-28';

await mkdir(path.join(data, 'models'), { recursive: true });
await writeFile(path.join(data, 'models', 'fraud-mlp.onnx'), buildMlp({ features: 8, hidden: 16, seed: 7 }));
const dir = path.join(data, 'input', date);
for (const [i, name] of ['transactions-a.csv', 'transactions-b.csv', 'transactions-c.csv.gz'].entries()) {
  await writeSampleCsv(path.join(dir, name), { rows: 40_000, features: 8, seed: i + 1, badEvery: 2_000, idOffset: i * 40_000, gzip: name.endsWith('.gz') });
}
process.stdout.write(`demo data ready in ${path.relative(process.cwd(), data) || data}/ (model + 3 input files for ${date})\n`);
