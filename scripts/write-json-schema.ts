/** Writes jobs/job.schema.json from the zod job spec (for editor completion and validation). */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { jobSpecSchema } from '../src/spec/job-spec.js';

export function jobJsonSchema(): Record<string, unknown> {
  return { title: 'nightshift job spec', ...z.toJSONSchema(jobSpecSchema, { io: 'input', unrepresentable: 'any' }) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const out = path.join(root, 'jobs', 'job.schema.json');
  await writeFile(out, `${JSON.stringify(jobJsonSchema(), null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}
