import { batchWindows, planSeedWindows, type SeedWindow, type SeedWindowMode } from './seed-windows.js';

/**
 * The seed's windows (spec §7.3) over one sequence, run in batches of at most `windowBatch`, one
 * decision per frame. The one place that turns a sequence into window batches and maps their
 * outputs back to frames, whoever runs the batches: the in-thread runner one at a time, or a pool
 * of model hosts with up to `concurrency` batches in flight. Batches are cut and their outputs
 * reassembled in plan order, so the rows do not depend on which host finished first.
 *
 * The decisions are those of the last n frames, [L − n, L): all of them in `complete` mode; in
 * `authors` mode a sequence shorter than seqLen may leave its first frames without one.
 */
export async function runSeedWindows<F, R>(
  frames: readonly F[],
  seqLen: number,
  windowBatch: number,
  run: (windows: readonly (readonly F[])[]) => Promise<readonly (readonly R[])[]>,
  concurrency = 1,
  mode: SeedWindowMode = 'complete',
): Promise<R[]> {
  if (frames.length === 0) return [];
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const plan = planSeedWindows(frames.length, seqLen, mode);
  const batches = batchWindows(plan.windows, windowBatch).map((batch: readonly SeedWindow[]) =>
    batch.map((w) =>
      w.map((id) => {
        const f = frames[id];
        if (f === undefined) throw new RangeError(`frame ${id} has no cached features`);
        return f;
      }),
    ),
  );
  const outputs: (readonly (readonly R[])[])[] = new Array(batches.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < batches.length) {
      const i = next++;
      const out = await run(batches[i]!);
      if (out.length !== batches[i]!.length) throw new RangeError(`a window batch of ${batches[i]!.length} returned ${out.length} window(s)`);
      outputs[i] = out;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, lane));
  const rows: R[] = [];
  for (const out of outputs) for (const decisions of out) rows.push(...decisions);
  return Array.from(plan.source, (idx) => {
    const r = rows[idx];
    if (r === undefined) throw new RangeError(`window output ${idx} missing`);
    return r;
  });
}
