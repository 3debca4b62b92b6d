/**
 * A streaming writer for one output object: text or bytes go in with backpressure, the object
 * store uploads them as they come, and the object becomes visible only when close() succeeds.
 * abort() (or any failure) leaves nothing visible.
 */
import { once } from 'node:events';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ObjectStore, WriteResult } from '../../storage/object-store.js';

export class ObjectSink {
  private readonly input: PassThrough;
  private readonly upload: Promise<WriteResult>;
  private uploadError: Error | undefined;
  bytesIn = 0;
  /** Bytes handed to the store (after gzip): the object's size once close() has succeeded. */
  bytesOut = 0;

  private readonly gzip: boolean;

  constructor(store: ObjectStore, key: string, options: { gzip: boolean; contentType: string; signal?: AbortSignal }) {
    this.gzip = options.gzip;
    this.input = new PassThrough({ highWaterMark: 1024 * 1024 });
    let body: Readable = this.input;
    if (options.gzip) {
      const gz = createGzip({ level: 6 });
      // Count what the store receives, so finalize can check the size of the object it finds.
      const counted = new Transform({
        transform: (chunk: Buffer, _enc, done) => {
          this.bytesOut += chunk.length;
          done(null, chunk);
        },
      });
      this.input.pipe(gz).pipe(counted);
      this.input.on('error', (err) => gz.destroy(err));
      gz.on('error', (err) => counted.destroy(err));
      gz.on('error', ignore);
      body = counted;
    }
    // These streams only error when abort() or a failed upload destroys them, and the caller
    // hears of it through the upload promise. The store attaches its own listeners only after
    // an await (LocalStore creates the folder first), so an abort right after construction
    // would otherwise be an unhandled 'error' event that takes the process down.
    this.input.on('error', ignore);
    body.on('error', ignore);
    this.upload = store.write(key, body, { contentType: options.contentType, ...(options.signal ? { signal: options.signal } : {}) });
    // Keep the failure until someone awaits it, so it is never an unhandled rejection.
    this.upload.catch((err: unknown) => {
      this.uploadError = err instanceof Error ? err : new Error(String(err));
      this.input.destroy(this.uploadError);
    });
  }

  /** Text is UTF-8 encoded; a Buffer goes to the stream as it is, so the caller must not reuse it. */
  async write(data: string | Buffer): Promise<void> {
    if (data.length === 0) return;
    if (this.uploadError) throw this.uploadError;
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.bytesIn += buf.length;
    if (!this.gzip) this.bytesOut += buf.length;
    if (!this.input.write(buf)) await once(this.input, 'drain');
  }

  async close(): Promise<WriteResult> {
    this.input.end();
    return this.upload;
  }

  /** Cancels the upload; nothing becomes visible. */
  async abort(reason: Error): Promise<void> {
    this.input.destroy(reason);
    await this.upload.catch(() => undefined);
  }
}

function ignore(): void {}
