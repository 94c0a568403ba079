/**
 * Training and validation windows of the CNN-RNN (spec §7.3, `MCR/data/dataset_Mixed_*.py`):
 * per video, over its valid-label rows in frame order (so a window can skip frames without a
 * label or image), ⌊L/stride⌋ windows starting at i·stride; a window that would run past the end
 * is replaced by the last `seqLen` rows; a video shorter than `seqLen` gives windows padded by
 * repeating its last row. Stride seqLen/2 in training and seqLen in validation, as the seed. A
 * video with fewer rows than the stride gives no window (⌊L/stride⌋ = 0), as in the seed.
 *
 * One deliberate difference: for a video with seqLen/2 ≤ L < seqLen the seed's
 * `data.iloc[L − seqLen : L]` has a negative start, which pandas reads from the end, so its window
 * holds only the last seqLen − L rows (then padded); here such a window holds all L rows. The
 * seed's intent (its own padding branch) is the whole short video, and dropping real rows for
 * copies of the last one only loses data.
 */
import type { LabelledFace } from './types.js';

export interface SequenceWindow {
  readonly video: string;
  /** Indices into the faces array, `seqLen` long. */
  readonly indices: Uint32Array;
}

/** Groups faces by video (first-appearance order of videos), each sorted by frame. */
export function videosOf(faces: readonly LabelledFace[]): Map<string, number[]> {
  const by = new Map<string, number[]>();
  faces.forEach((f, i) => {
    if (f.video === undefined) throw new RangeError(`sample ${i} (${f.image}) has no video: sequences need video and frame`);
    let list = by.get(f.video);
    if (list === undefined) by.set(f.video, (list = []));
    list.push(i);
  });
  for (const list of by.values()) list.sort((a, b) => (faces[a]!.frame ?? 0) - (faces[b]!.frame ?? 0) || a - b);
  return by;
}

export function sequenceWindows(faces: readonly LabelledFace[], seqLen: number, stride: number): SequenceWindow[] {
  if (!Number.isInteger(seqLen) || seqLen < 1 || !Number.isInteger(stride) || stride < 1) throw new RangeError(`seqLen and stride must be positive integers, got ${seqLen}, ${stride}`);
  const out: SequenceWindow[] = [];
  for (const [video, rows] of videosOf(faces)) {
    const L = rows.length;
    const n = Math.floor(L / stride);
    for (let w = 0; w < n; w++) {
      let start = w * stride;
      if (start + seqLen > L) start = Math.max(0, L - seqLen);
      const indices = new Uint32Array(seqLen);
      for (let k = 0; k < seqLen; k++) indices[k] = rows[Math.min(start + k, L - 1)]!;
      out.push({ video, indices });
    }
  }
  return out;
}

/** The windows as lists of faces (what the training loop batches). */
export function videoWindows(faces: readonly LabelledFace[], seqLen: number, stride: number): LabelledFace[][] {
  return sequenceWindows(faces, seqLen, stride).map((w) => Array.from(w.indices, (i) => faces[i]!));
}
