/**
 * The runs of a job found in its output location: every run prefix (one per logical date) that
 * holds a `_report.json`, with whether it is published (`_SUCCESS`). `baseline: previous` and
 * `nightshift history` read it; the store is the record, so it works without Redis.
 */
import { readAll } from '../storage/object-store.js';
import type { Stores, StoreRef } from '../storage/stores.js';
import { parseLocation } from '../spec/uri.js';
import { renderTemplate } from '../spec/templates.js';
import { joinKey, REPORT_NAME, SUCCESS_NAME } from './output-layout.js';

export const PROFILE_NAME = '_profile.json';

export interface ListedRun {
  logicalDate: string;
  /** The run's output prefix. */
  prefix: StoreRef;
  published: boolean;
}

const DATE_MARK = 'D4T3M4RK';
const RUNID_MARK = 'RUN1DM4RK';

/** Runs of the job, oldest date first. */
export async function listRuns(stores: Stores, outputUriTemplate: string, baseDir: string, job: string, signal?: AbortSignal): Promise<ListedRun[]> {
  const marked = stores.resolve(parseLocation(renderTemplate(outputUriTemplate, { date: DATE_MARK, runId: RUNID_MARK, job }), baseDir));
  const key = joinKey(marked.key, '');
  const first = Math.min(...[key.indexOf(DATE_MARK), key.indexOf(RUNID_MARK)].filter((i) => i >= 0));
  if (!Number.isFinite(first)) return []; // an output URI without the date: one run prefix, no history
  const root = key.slice(0, key.lastIndexOf('/', first) + 1);
  const pattern = new RegExp(
    `^${escapeRegExp(key)
      .replace(DATE_MARK, '(?<date>\\d{4}-\\d{2}-\\d{2})')
      .replaceAll(DATE_MARK, '\\d{4}-\\d{2}-\\d{2}')
      .replaceAll(RUNID_MARK, '[^/]+')}(?<name>[^/]+)$`,
  );
  const runs = new Map<string, ListedRun>();
  for await (const o of marked.store.list(root, signal)) {
    const m = pattern.exec(o.key);
    const date = m?.groups?.date;
    const name = m?.groups?.name;
    if (!date || (name !== REPORT_NAME && name !== SUCCESS_NAME)) continue;
    const run = runs.get(date) ?? { logicalDate: date, prefix: { store: marked.store, key: o.key.slice(0, o.key.length - name.length) }, published: false };
    if (name === SUCCESS_NAME) run.published = true;
    runs.set(date, run);
  }
  return [...runs.values()].sort((a, b) => (a.logicalDate < b.logicalDate ? -1 : 1));
}

/** A small JSON file under a run prefix, or undefined if it is missing. */
export async function readRunJson(prefix: StoreRef, name: string): Promise<unknown> {
  const key = joinKey(prefix.key, name);
  if (!(await prefix.store.head(key))) return undefined;
  return JSON.parse((await readAll(await prefix.store.read(key))).toString('utf8')) as unknown;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
