import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { jobJsonSchema } from '../scripts/write-json-schema.js';

it('jobs/job.schema.json is up to date with the zod spec (run npm run schema)', async () => {
  const committed = JSON.parse(await readFile(new URL('../jobs/job.schema.json', import.meta.url), 'utf8')) as unknown;
  assert.deepEqual(committed, JSON.parse(JSON.stringify(jobJsonSchema())));
});
