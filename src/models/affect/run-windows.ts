import { tf, type Tensor3D } from '../tf.js';
import { TASKS, TASK_OUTPUTS, type EnsembleFrame, type PerTask, type TaskName } from '../seed/index.js';
import type { FrameCache, SeedRunner } from '../seed/seed-runner.js';

function perTask<T>(f: (t: TaskName) => T): PerTask<T> {
  return { EXPR: f('EXPR'), AU: f('AU'), VA: f('VA') };
}

/**
 * GRU heads of every member over a batch of windows of cached per-frame CNN features
 * (each window `seqLen` frames, oldest first), decided per window position. Ids and outputs are
 * both flattened in (window, position) order: the seed's batch-order bug (spec §7.3) is fixed.
 */
export function runWindows(runner: SeedRunner, windows: readonly (readonly FrameCache[])[]): EnsembleFrame[][] {
  if (runner.kind !== 'cnn-rnn') throw new RangeError('runWindows() needs a cnn-rnn model');
  if (windows.length === 0) return [];
  const seqLen = runner.seqLen;
  const hidden = runner.hidden;
  for (const w of windows) if (w.length !== seqLen) throw new RangeError(`a window holds ${w.length} frames, the model needs ${seqLen}`);
  const members = runner.ensemble.members;
  const perMember = members.map((member, mi) => {
    const feats = perTask((t) => {
      const buf = new Float32Array(windows.length * seqLen * hidden);
      windows.forEach((w, b) =>
        w.forEach((f, k) => {
          const m = f[mi];
          if (m === undefined) throw new RangeError(`a cached frame has no features for member ${mi}`);
          buf.set(m.features[t], (b * seqLen + k) * hidden);
        }),
      );
      return buf;
    });
    const out = tf.tidy(() => member.model.gruHeads(perTask((t) => tf.tensor3d(feats[t], [windows.length, seqLen, hidden]) as Tensor3D)));
    try {
      return perTask((t) => out[t].dataSync<'float32'>());
    } finally {
      tf.dispose(TASKS.map((t) => out[t]));
    }
  });
  return windows.map((_, b) =>
    Array.from({ length: seqLen }, (__, k) => {
      const row = b * seqLen + k;
      return runner.decide(perMember.map((m) => perTask((t) => m[t].subarray(row * TASK_OUTPUTS[t], (row + 1) * TASK_OUTPUTS[t]))));
    }),
  );
}
