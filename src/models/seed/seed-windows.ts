/**
 * The seed's CNN-RNN inference windows (spec §7.3), as pure index arithmetic so the offline
 * `predict` command and the live pipeline cut sequences the same way:
 *
 * - windows of `seqLen` frames at stride `seqLen`; there are ⌊L/seqLen⌋ + 1 of them;
 * - a window whose end reaches or passes L is replaced by the last `seqLen` frames [L−seqLen, L),
 *   so the tail window overlaps its predecessor (and duplicates it when L is a multiple of seqLen);
 * - a sequence shorter than `seqLen` is padded by repeating its last frame;
 * - in `authors` mode, a sequence of L < `seqLen` frames is cut as the authors' code cuts it:
 *   their window is `iloc[L − seqLen : L]`, and a negative start counts from the end in pandas (it
 *   is clamped to 0 only below −L), so for seqLen/2 < L < seqLen the window holds frames
 *   [2L − seqLen, L), padded, and frames [0, 2L − seqLen) get no output at all. The default
 *   (`complete`) starts such a window at 0 instead, so that every frame gets an output;
 * - overlapping predictions are merged by keeping each frame's first occurrence (the earlier
 *   window wins), as `test.py` / `run_pretrained_model.py` do with `np.unique(return_index=True)`.
 *
 * Batch order: the seed flattened a batch's frame ids after PyTorch's default collate had
 * transposed them to (N, B), but flattened the predictions in (B, N) order, so with B > 1 ids and
 * predictions were misaligned. Here both are flattened window-major, (B, N): `flattenWindowIds`
 * lists ids in exactly the row-major order of a [B, N, n] output tensor.
 */

/** One window: `seqLen` frame indices into the sequence, in time order. */
export type SeedWindow = readonly number[];

/** `complete`: every frame gets an output (the default); `authors`: the authors' windows, bit for bit. */
export type SeedWindowMode = 'complete' | 'authors';
export const SEED_WINDOW_MODES: readonly SeedWindowMode[] = ['complete', 'authors'];

/** Where pandas' `iloc[start:]` starts for a possibly negative `start` over `length` rows. */
function ilocStart(start: number, length: number): number {
  return start >= 0 ? start : Math.max(length + start, 0);
}

function checkArgs(length: number, seqLen: number): void {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`sequence length must be a non-negative integer, got ${length}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`seqLen must be a positive integer, got ${seqLen}`);
}

/** The seed's windows over a sequence of `length` frames (none for an empty sequence). */
export function seedWindows(length: number, seqLen: number, mode: SeedWindowMode = 'complete'): SeedWindow[] {
  checkArgs(length, seqLen);
  if (length === 0) return [];
  const windows: SeedWindow[] = [];
  const count = Math.floor(length / seqLen) + 1;
  for (let i = 0; i < count; i++) {
    let start = i * seqLen;
    if (start + seqLen >= length) start = length - seqLen;
    // start < 0 only when length < seqLen; the window is then padded with the last frame.
    const from = mode === 'authors' ? ilocStart(start, length) : Math.max(start, 0);
    windows.push(Array.from({ length: seqLen }, (_, k) => Math.min(from + k, length - 1)));
  }
  return windows;
}

/**
 * Frame ids of a batch of windows in the row-major order of its [B, N, …] output: window-major.
 * (The seed's collate produced (N, B) here; this is the fix.)
 */
export function flattenWindowIds(batch: readonly SeedWindow[]): number[] {
  return batch.flatMap((w) => [...w]);
}

/**
 * For each frame id in [from, length): the position of its first occurrence in `flatIds`.
 * Throws if some frame never occurs (a window plan that does not cover the sequence).
 */
export function firstOccurrence(flatIds: readonly number[], length: number, from = 0): Int32Array {
  const first = new Int32Array(length - from).fill(-1);
  flatIds.forEach((id, i) => {
    if (!Number.isInteger(id) || id < from || id >= length) throw new RangeError(`frame id ${id} outside [${from}, ${length})`);
    if (first[id - from] === -1) first[id - from] = i;
  });
  const missing = first.indexOf(-1);
  if (missing !== -1) throw new RangeError(`frame ${missing + from} is in no window`);
  return first;
}

/** Splits windows into batches of at most `batchSize` (the last may be smaller). */
export function batchWindows(windows: readonly SeedWindow[], batchSize: number): SeedWindow[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const batches: SeedWindow[][] = [];
  for (let i = 0; i < windows.length; i += batchSize) batches.push(windows.slice(i, i + batchSize));
  return batches;
}

export interface SeedWindowPlan {
  readonly seqLen: number;
  readonly windows: readonly SeedWindow[];
  /** The first frame with an output: 0, except in `authors` mode for seqLen/2 < L < seqLen. */
  readonly first: number;
  /**
   * For frame `first + t`, the flat index (window · seqLen + position) of the output row that predicts it.
   * Batching does not change it: batches are consecutive slices of `windows` and each is
   * flattened window-major.
   */
  readonly source: Int32Array;
}

export function planSeedWindows(length: number, seqLen: number, mode: SeedWindowMode = 'complete'): SeedWindowPlan {
  const windows = seedWindows(length, seqLen, mode);
  const first = windows.length === 0 ? 0 : Math.min(...windows.map((w) => w[0] ?? 0));
  return { seqLen, windows, first, source: firstOccurrence(flattenWindowIds(windows), length, first) };
}
