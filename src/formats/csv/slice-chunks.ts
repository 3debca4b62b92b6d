/**
 * Cuts input chunks into small pieces, one piece per event-loop turn, for csv-parse.
 *
 * csv-parse parses every chunk it is written in one synchronous call, whatever its size, and the
 * input comes in 1 MiB chunks (cheaper to read). On the general path that is ~5,000 records and
 * a quarter of a second of CPU without a timer running: on a busy machine over a second, long
 * enough for a worker to miss its lock renewal. In 64 KiB pieces with a turn between them the
 * longest burst is a few tens of milliseconds (bench/event-loop-stall.ts measures it).
 */
import { Transform } from 'node:stream';

export const PARSE_PIECE_BYTES = 64 * 1024;

export function sliceChunks(pieceBytes = PARSE_PIECE_BYTES): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (chunk.length <= pieceBytes) {
        done(null, chunk);
        return;
      }
      let offset = 0;
      const next = (): void => {
        if (this.destroyed) return;
        this.push(chunk.subarray(offset, offset + pieceBytes));
        offset += pieceBytes;
        if (offset < chunk.length) setImmediate(next);
        else done();
      };
      next();
    },
  });
}
