import { iou } from '../../core/geometry.js';
import type { Box, Point } from './types.js';

export { iou };

export function boxCenter(b: Box): Point {
  return [b[0] + b[2] / 2, b[1] + b[3] / 2];
}

/** A square box of side `scale`·max(w,h) around the same centre. */
export function squareAround(b: Box, scale: number): Box {
  const [cx, cy] = boxCenter(b);
  const side = Math.max(b[2], b[3]) * scale;
  return [cx - side / 2, cy - side / 2, side, side];
}

export function clipBox(b: Box, width: number, height: number): Box {
  const x1 = Math.max(0, Math.min(width, b[0]));
  const y1 = Math.max(0, Math.min(height, b[1]));
  const x2 = Math.max(0, Math.min(width, b[0] + b[2]));
  const y2 = Math.max(0, Math.min(height, b[1] + b[3]));
  return [x1, y1, x2 - x1, y2 - y1];
}

/** Greedy non-maximum suppression over candidates sorted by score (descending). */
export function nonMaxSuppression<T extends { box: Box; score: number }>(cands: readonly T[], iouThreshold: number, max: number): T[] {
  const sorted = [...cands].sort((p, q) => q.score - p.score);
  const kept: T[] = [];
  for (const c of sorted) {
    if (kept.length >= max) break;
    if (kept.every((k) => iou(k.box, c.box) <= iouThreshold)) kept.push(c);
  }
  return kept;
}
