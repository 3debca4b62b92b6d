/**
 * Bounded memory: scoring 5× more rows must not need more memory. Each size is scored in its
 * own child process (bench/memory.ts --child) and compared by peak RSS. bench/memory.ts runs
 * the larger comparison (200k vs 2M rows) and prints the figures.
 *
 *   node --import tsx --test test/memory.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measureScoringPeakRss } from '../bench/memory.js';
import { tempDir } from './helpers/jobs.js';

/**
 * 100k rows is past the warm-up (onnxruntime and V8 reach their working size before it). The
 * larger run adds 400k rows, so retaining ~100 bytes per row (a row object, or the input text)
 * exceeds the budget. Not 1M: V8 defers major GCs over ~1.5M rows here (peak RSS saw-tooths
 * between ~175 and ~220 MB while the heap left after a forced GC stays at ~17 MB), so 100k vs
 * 1M differs by 25-32 MB with no leak at all, too close to the budget to be a reliable signal.
 */
const SMALL = 100_000;
const LARGE = 500_000;
const BUDGET_BYTES = 40 * 1024 * 1024;

describe('memory', () => {
  it(`peak RSS scoring ${LARGE.toLocaleString('en-US')} rows is within 40 MB of ${SMALL.toLocaleString('en-US')} rows`, { timeout: 120_000 }, async (t) => {
    // One after the other: CPU contention delays V8's concurrent marking and inflates the peak.
    const small = await measureScoringPeakRss(SMALL, await tempDir(t, 'mem'));
    const large = await measureScoringPeakRss(LARGE, await tempDir(t, 'mem'));
    assert.equal(small.rowsScored, SMALL);
    assert.equal(large.rowsScored, LARGE);
    const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;
    t.diagnostic(`peak RSS ${mb(small.maxRssBytes)} for ${SMALL} rows, ${mb(large.maxRssBytes)} for ${LARGE} rows`);
    assert.ok(
      large.maxRssBytes - small.maxRssBytes <= BUDGET_BYTES,
      `peak RSS grew by ${mb(large.maxRssBytes - small.maxRssBytes)} (${mb(small.maxRssBytes)} → ${mb(large.maxRssBytes)}), more than 40 MB`,
    );
  });
});
