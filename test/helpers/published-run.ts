/**
 * An independent reader of a published run, for the race tests and `npm run chaos`: it uses a
 * plain AWS SDK client (none of nightshift's store code), reads `_SUCCESS`, fetches every part
 * it lists and compares the ids found with the input's: every input row exactly once, every
 * listed part present, sizes and row counts as the manifest says.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parse as parseCsvSync } from 'csv-parse/sync';

export interface PublishedRun {
  readonly attempt: string | undefined;
  /** Parts listed in _SUCCESS. */
  readonly parts: readonly string[];
  /** Listed parts that could not be fetched. */
  readonly missing: readonly string[];
  /** Listed parts whose size or row count differs from the manifest's `files`. */
  readonly mismatched: readonly string[];
  /** Ids of every row of every listed part, in part order. */
  readonly ids: readonly string[];
  /** Every key under the prefix (parts of other attempts left behind show up here). */
  readonly keys: readonly string[];
}

async function getBytes(client: S3Client, bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from((await res.Body?.transformToByteArray()) ?? new Uint8Array());
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

export async function readPublishedRun(client: S3Client, bucket: string, prefix: string): Promise<PublishedRun> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key.slice(prefix.length));
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  const success = await getBytes(client, bucket, `${prefix}_SUCCESS`);
  if (!success) return { attempt: undefined, parts: [], missing: [], mismatched: [], ids: [], keys: keys.sort() };
  const manifest = JSON.parse(success.toString('utf8')) as { attempt: string; parts: string[]; files?: { name: string; rows: number; bytes: number }[] };
  const missing: string[] = [];
  const mismatched: string[] = [];
  const ids: string[] = [];
  for (const part of manifest.parts) {
    const body = await getBytes(client, bucket, prefix + part);
    if (!body) {
      missing.push(part);
      continue;
    }
    const records: string[][] = parseCsvSync(body, { bom: true });
    const [header, ...rows] = records;
    if (header?.[0] !== 'id') throw new Error(`${part}: first column is ${header?.[0]}, not id`);
    for (const r of rows) ids.push(r[0] ?? '');
    const f = manifest.files?.find((x) => x.name === part);
    if (f && (f.rows !== rows.length || f.bytes !== body.length))
      mismatched.push(`${part}: ${rows.length} rows / ${body.length} bytes, manifest ${f.rows} / ${f.bytes}`);
  }
  return { attempt: manifest.attempt, parts: manifest.parts, missing, mismatched, ids, keys: keys.sort() };
}

/** What is wrong with a published run, given the ids of the input ([] when all is well). */
export function publishedRunProblems(run: PublishedRun, expectedIds: readonly string[]): string[] {
  const problems: string[] = [];
  if (run.attempt === undefined) return ['no _SUCCESS'];
  if (run.missing.length) problems.push(`${run.missing.length} of ${run.parts.length} listed parts missing: ${run.missing.join(', ')}`);
  if (run.mismatched.length) problems.push(`parts differ from the manifest: ${run.mismatched.join('; ')}`);
  const seen = new Map<string, number>();
  for (const id of run.ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const dup = [...seen].filter(([, n]) => n > 1).length;
  const expected = new Set(expectedIds);
  const lost = expectedIds.filter((id) => !seen.has(id)).length;
  const extra = [...seen.keys()].filter((id) => !expected.has(id)).length;
  if (dup || lost || extra)
    problems.push(`rows: ${run.ids.length} published for ${expectedIds.length} input; ${lost} lost, ${dup} duplicated, ${extra} unknown`);
  const foreign = run.keys.filter((k) => /^part-/.test(k) && !run.parts.includes(k));
  if (foreign.length) problems.push(`parts not listed in _SUCCESS remain: ${foreign.join(', ')}`);
  return problems;
}
