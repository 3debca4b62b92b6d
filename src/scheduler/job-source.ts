/**
 * The scheduler's view of jobs/: reloads on file changes or SIGHUP, refuses invalid files with
 * the same errors as `nightshift validate`, and keeps the last good version of each job.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { JobSpecError } from '../core/errors.js';
import { loadJobFile, type LoadedJob } from '../spec/load-spec.js';

export class JobSource {
  /** Last good version of each file's job. */
  private readonly good = new Map<string, LoadedJob>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly onError: (err: JobSpecError) => void,
  ) {}

  async load(): Promise<LoadedJob[]> {
    const files = (await readdir(this.dir)).filter((n) => /\.ya?ml$/.test(n)).map((n) => path.join(this.dir, n));
    for (const f of [...this.good.keys()]) if (!files.includes(f)) this.good.delete(f);
    for (const f of files) {
      try {
        this.good.set(f, await loadJobFile(f));
      } catch (err) {
        if (!(err instanceof JobSpecError)) throw err;
        this.onError(err); // keep the previous good version, if any
      }
    }
    const byName = new Map<string, LoadedJob>();
    for (const j of this.good.values()) {
      const dup = byName.get(j.spec.name);
      if (dup) this.onError(new JobSpecError(j.file, [`name: "${j.spec.name}" is also the name of ${dup.file}; keeping that one`]));
      else byName.set(j.spec.name, j);
    }
    return [...byName.values()];
  }

  /** Calls `changed` (debounced) when files in the folder change. */
  watch(changed: () => void): void {
    this.watcher = watch(this.dir, () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(changed, 200);
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
