/** Data for monitoring tests: CSV inputs of the 8-feature MLP with features from a chosen normal. */
import { mulberry32 } from '../../scripts/models/models.js';
import { FEATURES } from './jobs.js';

/** CSV rows id,note,f0..f7 with features ~ N(shift, 1). */
export function normalCsv(rows: number, seed: number, shift = 0): string {
  const rnd = mulberry32(seed);
  const lines = [['id', 'note', ...FEATURES].join(',')];
  for (let i = 0; i < rows; i++) {
    const f = FEATURES.map(() => {
      const u = Math.max(1e-12, rnd());
      return (shift + Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd())).toFixed(4);
    });
    lines.push([`r${i}`, 'n', ...f].join(','));
  }
  return `${lines.join('\n')}\n`;
}
