/**
 * One `nightshift score` in a fresh process (bench/score-child.mjs: plain node on the compiled
 * build, as users run it), for every bench that times `score`: its wall and CPU seconds from the
 * call of scoreRun to its end, and the process's peak RSS. Fails unless it scored `rows` rows.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildScore {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly maxRssBytes: number;
}

const SCORE_CHILD = fileURLToPath(new URL('./score-child.mjs', import.meta.url));

export async function scoreInChild(job: string, date: string, rows: number, threads = 1): Promise<ChildScore> {
  const child = spawn(process.execPath, [SCORE_CHILD, job, date, String(threads)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`scoring child failed (${code}): ${text}`);
  const r = JSON.parse(text) as ChildScore & { rowsScored: number };
  if (r.rowsScored !== rows) throw new Error(`scored ${r.rowsScored} of ${rows} rows`);
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssBytes: r.maxRssBytes };
}
