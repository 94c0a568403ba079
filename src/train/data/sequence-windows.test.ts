import { describe, expect, it } from 'vitest';
import { sequenceWindows, videoWindows } from './sequence-windows.js';
import type { LabelledFace } from './types.js';

const video = (name: string, frames: number[]): LabelledFace[] => frames.map((frame) => ({ image: `${name}/${frame}`, video: name, frame, expr: 0 }));
const framesOf = (faces: readonly LabelledFace[], idx: Uint32Array): number[] => Array.from(idx, (i) => faces[i]!.frame!);

describe('CNN-RNN sequence windows (spec §7.3)', () => {
  it('⌊L/stride⌋ windows at i·stride, the tail replaced by the last seqLen rows, over valid rows only', () => {
    // 10 valid rows with a gap (frame 4 has no label): windows of 4 at stride 2 → 5 windows.
    const faces = video('a', [0, 1, 2, 3, 5, 6, 7, 8, 9, 10]);
    const w = sequenceWindows(faces, 4, 2);
    expect(w.map((x) => framesOf(faces, x.indices))).toEqual([
      [0, 1, 2, 3],
      [2, 3, 5, 6],
      [5, 6, 7, 8],
      [7, 8, 9, 10],
      [7, 8, 9, 10], // start 8 would run past the end: the last 4 rows
    ]);
    // Validation stride = seqLen.
    expect(sequenceWindows(faces, 4, 4).map((x) => framesOf(faces, x.indices))).toEqual([
      [0, 1, 2, 3],
      [5, 6, 7, 8],
    ]);
  });

  it('short videos are padded with their last row; videos shorter than the stride give none; order by frame', () => {
    const faces = [...video('b', [4, 2, 3]), ...video('c', [0])];
    const w = sequenceWindows(faces, 8, 2);
    expect(w.map((x) => [x.video, framesOf(faces, x.indices)])).toEqual([['b', [2, 3, 4, 4, 4, 4, 4, 4]]]);
    expect(() => sequenceWindows([{ image: 'x', expr: 1 }], 4, 2)).toThrow(/no video/);
  });

  it('a video of seqLen/2 ≤ L ≤ seqLen rows gives ⌊L/stride⌋ windows of all its rows (the seed counts them so too)', () => {
    // L = seqLen at training stride: 2 windows (the seed's second one is the tail, the same rows).
    const full = video('d', [0, 1, 2, 3]);
    expect(sequenceWindows(full, 4, 2).map((x) => framesOf(full, x.indices))).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
    // L = 5 < seqLen = 8: the seed's iloc[−3:5] would keep only rows 2..4; all 5 are kept here.
    const short = video('e', [0, 1, 2, 3, 4]);
    expect(sequenceWindows(short, 8, 4).map((x) => framesOf(short, x.indices))).toEqual([[0, 1, 2, 3, 4, 4, 4, 4]]);
    // Validation stride = seqLen: a video shorter than seqLen gives none.
    expect(sequenceWindows(short, 8, 8)).toEqual([]);
  });

  it('videoWindows gives the faces themselves, window by window', () => {
    const faces = [...video('f', [3, 1, 2, 0]), ...video('g', [0, 1])];
    const w = videoWindows(faces, 2, 2);
    expect(w.map((x) => x.map((f) => f.image))).toEqual([
      ['f/0', 'f/1'],
      ['f/2', 'f/3'],
      ['g/0', 'g/1'],
    ]);
  });
});
