/**
 * A shard thread of the threaded `score`: its own stores, model session and scorer; scores the
 * shards the main thread sends, one at a time, so `score` uses every core on one machine.
 */
import { parentPort } from 'node:worker_threads';
import { requireCommonJs } from '../core/commonjs.js';
import { CancelledError, serializeError } from '../core/errors.js';
import { partFormat } from '../formats/parts/part-formats.js';
import { createSession, fetchModel } from '../model/load-model.js';
import { OnnxScorer } from '../model/onnx-scorer.js';
import { scoreShard } from '../scoring/score-shard.js';
import { parseLocation } from '../spec/uri.js';
import { Stores } from '../storage/stores.js';
import { challengerJobSpec } from '../spec/challenger-spec.js';
import type { JobSpec } from '../spec/job-spec.js';
import { shardChallengers, type ChallengerThreadInit } from './challenger-model.js';
import type { ShardTaskMessage, ShardThreadCommand, ShardThreadInit, ShardThreadReply } from './shard-thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('shard-thread must run as a worker thread');

/**
 * What the thread scores with, once the run has sent its init message (when its model is
 * checked, before its plan: the session is created while the main thread plans). The thread is
 * started before that (startShardThreads): importing these modules and onnxruntime then overlaps
 * the main thread's own model load.
 */
interface Ready {
  readonly spec: JobSpec;
  readonly baseDir: string;
  readonly stores: Stores;
  readonly scorer: Promise<OnnxScorer>;
  readonly challengers: ReturnType<typeof shardChallengers> | undefined;
}
let ready: Ready | undefined;
requireCommonJs('onnxruntime-node');

function start(init: ShardThreadInit): Ready {
  const { spec, baseDir } = init;
  const stores = new Stores(init.s3);
  const scorer = (async () => new OnnxScorer(await createSession(init.model, spec.model.threads), spec))();
  // Awaited by the first task; a failure reaches it there (this only keeps it from being unhandled).
  scorer.catch(() => undefined);
  // The challenger's session is opened on the first shard, beside the champion's.
  const challengers = init.challenger
    ? shardChallengers(spec, init.challenger.name, async () => {
        const c = init.challenger as ChallengerThreadInit;
        const cspec = challengerJobSpec(spec) as JobSpec;
        return new OnnxScorer(await createSession(await fetchModel({ uri: c.uri, sha256: c.sha256 }, stores), cspec.model.threads), cspec);
      })
    : undefined;
  return { spec, baseDir, stores, scorer, challengers };
}

const cancelled = new AbortController();
port.on('message', (cmd: ShardThreadCommand) => {
  if (cmd.kind === 'init') ready = start(cmd.init);
  else if (cmd.kind === 'cancel') cancelled.abort(new CancelledError('cancelled'));
  else void run(cmd).then((reply) => port.postMessage(reply));
});

async function run(task: ShardTaskMessage): Promise<ShardThreadReply> {
  try {
    if (!ready) throw new Error('shard thread: a task before its init message');
    const { spec, baseDir, stores, challengers } = ready;
    const scorer = await ready.scorer;
    const input = stores.resolve(parseLocation(task.inputUri, baseDir));
    const out = stores.resolve(parseLocation(task.outputUri, baseDir));
    let last = 0;
    const result = await scoreShard(
      {
        spec,
        scorer,
        format: partFormat(spec),
        signal: cancelled.signal,
        challenger: challengers?.forShard(task.partKey),
        onProgress: (rows) => {
          if (Date.now() - last < 200) return;
          last = Date.now();
          port?.postMessage({ kind: 'progress', id: task.id, rows } satisfies ShardThreadReply);
        },
      },
      {
        shard: task.shard,
        input: { store: input.store, key: input.key, display: task.inputUri, size: task.size },
        ...(task.range ? { range: task.range } : {}),
        output: { store: out.store, partKey: task.partKey, errorsKey: task.errorsKey },
      },
    );
    return { kind: 'done', id: task.id, result };
  } catch (err) {
    return { kind: 'failed', id: task.id, error: serializeError(err) };
  }
}
