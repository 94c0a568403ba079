/**
 * CNN-RNN training/validation windows (spec §7.3): per video, over its valid-label rows in frame
 * order, ⌊L/stride⌋ windows of seqLen rows at the given stride (seqLen/2 to train, seqLen to
 * validate); a window running past the end becomes the last seqLen rows; a video shorter than
 * seqLen gives one window padded by repeating its last row.
 */
import type { LabelledFace } from '../data/types.js';

export function windowStarts(length: number, seqLen: number, stride: number): number[] {
  if (length <= seqLen) return [0];
  const count = Math.floor(length / stride);
  const starts: number[] = [];
  for (let w = 0; w < count; w++) starts.push(Math.min(w * stride, length - seqLen));
  return starts;
}

export function videoWindows(faces: readonly LabelledFace[], seqLen: number, stride: number): LabelledFace[][] {
  const byVideo = new Map<string, LabelledFace[]>();
  for (const f of faces) {
    const key = f.video ?? '';
    let list = byVideo.get(key);
    if (list === undefined) byVideo.set(key, (list = []));
    list.push(f);
  }
  const out: LabelledFace[][] = [];
  for (const list of byVideo.values()) {
    list.sort((a, b) => (a.frame ?? 0) - (b.frame ?? 0));
    const last = list[list.length - 1];
    if (last === undefined) continue;
    for (const s of windowStarts(list.length, seqLen, stride)) {
      const w = list.slice(s, s + seqLen);
      while (w.length < seqLen) w.push(last);
      out.push(w);
    }
  }
  return out;
}
