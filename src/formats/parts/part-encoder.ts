/** What writes one part: its bytes, in order, are header(), rows() per batch (may be empty), end(). */
import type { ColumnarBatch, ScoreColumns } from '../../core/types.js';

export interface PartEncoder {
  header(): string;
  rows(batch: ColumnarBatch, scores: ScoreColumns[]): Buffer;
  end(): Buffer | string;
}
