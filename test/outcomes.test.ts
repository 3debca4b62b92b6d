/** The one error→outcome table: every project error has a row, and every edge agrees with it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as errors from '../src/core/errors.js';
import { EXIT, exitCodeFor, isRetryable, outcomeOf } from '../src/core/outcomes.js';
import { isFinalFailure, toBullmqError } from '../src/queue/outcomes.js';
import { UnrecoverableError } from '../src/queue/bullmq.js';

const samples: Error[] = [
  new errors.UsageError('--date: bad'),
  new errors.JobSpecError('/jobs/a.yaml', ['model.uri: missing']),
  new errors.UriError('"s3://B/x": "B" is not a valid bucket name'),
  new errors.ModelError('model m.onnx cannot be read'),
  new errors.InputError({ object: 'in.csv', line: 3, column: 'f1' }, 'a quoted field is never closed'),
  new errors.ErrorRateExceededError('3 of 10 rows rejected'),
  new errors.TransientError('503 SlowDown'),
  new errors.LockLostError('lost the lock'),
  new errors.CancelledError('interrupted'),
  new errors.RunCancelledError('fraud@2026-11-28 a1-3f2e was cancelled by ops: wrong input'),
  new errors.PreconditionFailedError('out/_SUCCESS', 'If-Match "abc" failed'),
  new errors.RedisPolicyError('maxmemory-policy is "allkeys-lru"'),
  new errors.RegistryError('s3://models/fraud/versions/1/version.json is corrupt'),
  new errors.RegistryNotFoundError('model fraud has no version 9'),
  new errors.AliasConflictError('fraud@champion changed while you moved it', 3),
  new errors.NotPublishedError('fraud@2026-11-28 has no published output'),
  new errors.SupersededError('fraud@2026-11-28 a2-1f3c was superseded by a3-0b7e'),
  new errors.RunStateError('fraud@2026-11-28 is not held'),
  new errors.ConfigError('NIGHTSHIFT_REDIS_URL: not a redis:// URL'),
  new errors.AccessError('s3://models/fraud.onnx', 'read s3://models/fraud.onnx: InvalidAccessKeyId: the key does not exist'),
];

describe('error → outcome table', () => {
  it('every error class in core/errors.ts has its own row (none falls through to "internal")', () => {
    const classes = Object.values(errors).filter(
      (v): v is typeof errors.NightshiftError => typeof v === 'function' && v.prototype instanceof errors.NightshiftError,
    );
    for (const Class of classes) {
      const sample = samples.find((s) => s.constructor === Class);
      assert.ok(sample, `a sample of ${Class.name}`);
      assert.notEqual(outcomeOf(sample).kind, 'internal', Class.name);
    }
    assert.equal(outcomeOf(new Error('boom')).kind, 'internal');
  });

  it('the CLI and BullMQ agree: what exits 2 or 3 is never retried; a UriError is not retried', () => {
    for (const err of samples) {
      const code = exitCodeFor(err);
      // The one exception: an AccessError is this machine's configuration. A command exits 2 (fix
      // it); a worker hands the job to another worker, where it may succeed (worker/hand-back.ts).
      if ((code === EXIT.spec || code === EXIT.data) && !(err instanceof errors.AccessError)) assert.equal(isRetryable(err), false, err.name);
      const bull = toBullmqError(err);
      assert.equal(bull instanceof UnrecoverableError, !isRetryable(err), err.name);
    }
    const uri = new errors.UriError('bad');
    assert.equal(exitCodeFor(uri), EXIT.spec);
    assert.ok(toBullmqError(uri) instanceof UnrecoverableError);
    assert.equal(isFinalFailure(uri, 0, 3), true);
    assert.equal(isFinalFailure(new errors.TransientError('x'), 0, 3), false);
    assert.equal(isFinalFailure(new errors.TransientError('x'), 2, 3), true);
    assert.equal(exitCodeFor(new errors.CancelledError('x')), 130);
  });

  it('InputError keeps its reason apart from its location; shifted() moves the line only', () => {
    const e = new errors.InputError({ object: 'in.csv', line: 3 }, 'bad quote [CSV_X]');
    assert.equal(e.message, 'in.csv:3: bad quote [CSV_X]');
    assert.equal(e.reason, 'bad quote [CSV_X]');
    const s = e.shifted(100);
    assert.equal(s.message, 'in.csv:103: bad quote [CSV_X]');
    assert.equal(s.reason, e.reason);
  });

  it('errors keep their class, fields and message across a structured clone (a thread boundary)', () => {
    for (const err of samples) {
      const back = errors.reviveError(structuredClone(errors.serializeError(err)));
      assert.equal(back.constructor, err.constructor, err.name);
      assert.equal(back.message, err.message);
      assert.equal(exitCodeFor(back), exitCodeFor(err));
    }
    const input = errors.reviveError(structuredClone(errors.serializeError(samples[4]))) as errors.InputError;
    assert.deepEqual(input.location, { object: 'in.csv', line: 3, column: 'f1' });
    assert.equal(input.reason, 'a quoted field is never closed');
  });
});
