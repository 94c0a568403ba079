/**
 * Runs a loaded seed ensemble on faces: the CNN once per frame and member (logits plus the
 * per-task head features the GRU heads consume), and, for CNN-RNN models, the GRU heads over
 * windows of those cached features. Everything here is synchronous (`dataSync`) so it can run
 * inside a pipeline callback and hold the pipeline's back-pressure while it works.
 */
import {
  TASK_OUTPUTS,
  combineMembers,
  decodeMemberFrame,
  disposeCnnOutput,
  preprocessFacePixelsBatch,
  type EnsembleFrame,
  type LoadedEnsemble,
  type PerTask,
  type RgbFace,
  type TaskName,
} from './index.js';
import { batchWindows, planSeedWindows } from './seed-windows.js';
import { runWindows } from '../affect/run-windows.js';

/** One frame's cached CNN output for one member: per task the head feature and the logits. */
export interface MemberFrameCache {
  readonly features: PerTask<Float32Array>;
  readonly logits: PerTask<Float32Array>;
}

/** One frame, all members (index = member index in the ensemble). */
export type FrameCache = readonly MemberFrameCache[];

function perTask<T>(f: (t: TaskName) => T): PerTask<T> {
  return { EXPR: f('EXPR'), AU: f('AU'), VA: f('VA') };
}

export class SeedRunner {
  readonly thresholds: readonly number[];
  readonly hidden: number;

  constructor(
    readonly ensemble: LoadedEnsemble,
    private readonly opts: { readonly includeMembers: boolean },
  ) {
    this.thresholds = ensemble.manifest.tasks.AU.thresholds;
    const first = ensemble.members[0];
    if (first === undefined) throw new RangeError('the ensemble has no members');
    this.hidden = first.model.dims.hidden;
  }

  get kind(): LoadedEnsemble['kind'] {
    return this.ensemble.kind;
  }

  get seqLen(): number {
    return this.ensemble.manifest.seqLen ?? 1;
  }

  /** Backbone + CNN heads of every member on a batch of faces (any size, exact PIL preprocessing). */
  runCnn(faces: readonly RgbFace[]): FrameCache[] {
    if (faces.length === 0) return [];
    const frames: MemberFrameCache[][] = faces.map(() => []);
    const input = preprocessFacePixelsBatch(faces);
    try {
      for (const member of this.ensemble.members) {
        const out = member.model.cnnFeatures(input);
        try {
          const feats = perTask((t) => out.features[t].dataSync<'float32'>());
          const logits = perTask((t) => out.logits[t].dataSync<'float32'>());
          faces.forEach((_, i) => {
            frames[i]?.push({
              features: perTask((t) => feats[t].slice(i * this.hidden, (i + 1) * this.hidden)),
              logits: perTask((t) => logits[t].slice(i * TASK_OUTPUTS[t], (i + 1) * TASK_OUTPUTS[t])),
            });
          });
        } finally {
          disposeCnnOutput(out);
        }
      }
    } finally {
      input.dispose();
    }
    return frames;
  }

  /** Ensemble decision of one frame from per-member logits (CNN heads or GRU heads). */
  decide(perMember: readonly PerTask<ArrayLike<number>>[]): EnsembleFrame {
    return combineMembers(
      perMember.map((l) => decodeMemberFrame(l)),
      { thresholds: this.thresholds, includeMembers: this.opts.includeMembers },
    );
  }

  /** CNN model: one decision per cached frame. */
  decideCnn(frames: readonly FrameCache[]): EnsembleFrame[] {
    return frames.map((f) => this.decide(f.map((m) => m.logits)));
  }

  /**
   * CNN-RNN model: the seed's windows (spec §7.3) over one sequence of cached frames, GRU heads
   * run `windowBatch` windows at a time, one decision per frame (first occurrence wins).
   */
  decideSequence(frames: readonly FrameCache[], windowBatch: number): EnsembleFrame[] {
    if (this.kind !== 'cnn-rnn') throw new RangeError('decideSequence() needs a cnn-rnn model');
    if (frames.length === 0) return [];
    const plan = planSeedWindows(frames.length, this.seqLen);
    // Decisions of every window row in flat (window, position) order; the live pipeline runs the
    // very same runWindows() on its windows.
    const rows: EnsembleFrame[] = [];
    for (const batch of batchWindows(plan.windows, windowBatch)) {
      const windows = batch.map((w) =>
        w.map((id) => {
          const f = frames[id];
          if (f === undefined) throw new RangeError(`frame ${id} has no cached features`);
          return f;
        }),
      );
      for (const decisions of runWindows(this, windows)) rows.push(...decisions);
    }
    return Array.from(plan.source, (idx) => rows[idx]!);
  }
}
