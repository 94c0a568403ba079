/**
 * `daemon predict --engine onnx-int8 --compare-fp32`: the int8 model's decisions next to fp32
 * ONNX Runtime's on the same faces (the same CNN batches, the same windows over each sequence),
 * frame by frame. int8 is an opt-in that trades accuracy for speed; this is how a user measures
 * the trade on their own video before turning it on.
 */
import type { AffectRunner } from '../models/affect/affect-runner.js';
import type { EnsembleFrame } from '../models/seed/index.js';
import type { FrameCache } from '../models/seed/frame-cache.js';

export interface Fp32Agreement {
  /** Frames decided by both. */
  readonly frames: number;
  /** Share of frames whose EXPR label is the same. */
  readonly exprArgmax: number;
  /** Share of (frame, AU) decisions (active at the model's thresholds) that are the same; null without AU. */
  readonly auDecisions: number | null;
  /** Largest |int8 − fp32| of valence or arousal; null without VA. */
  readonly maxVaDiff: number | null;
  /** Largest |int8 − fp32| of any EXPR / AU probability. */
  readonly maxExprProbDiff: number;
  readonly maxAuProbDiff: number | null;
}

export class Fp32Comparison {
  private frames = 0;
  private exprSame = 0;
  private auSame = 0;
  private auAll = 0;
  private maxVa: number | null = null;
  private maxExpr = 0;
  private maxAu: number | null = null;
  /** int8 cache → the fp32 cache of the same face. */
  private readonly pair = new WeakMap<FrameCache, FrameCache>();
  /** The reference runs one call at a time, whatever the int8 side overlaps. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly reference: AffectRunner) {}

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private fp32Of(frames: readonly FrameCache[]): FrameCache[] {
    return frames.map((f) => {
      const r = this.pair.get(f);
      if (r === undefined) throw new Error('unreachable: a frame without its fp32 twin');
      return r;
    });
  }

  private compare(a: readonly EnsembleFrame[], b: readonly EnsembleFrame[]): void {
    a.forEach((x, i) => {
      const y = b[i];
      if (y === undefined) throw new Error('unreachable: fp32 decided fewer frames');
      this.frames++;
      if (x.expr.index === y.expr.index) this.exprSame++;
      x.expr.probabilities.forEach((p, j) => (this.maxExpr = Math.max(this.maxExpr, Math.abs(p - (y.expr.probabilities[j] ?? NaN)))));
      if (x.au && y.au) {
        const ya = y.au;
        x.au.active.forEach((on, j) => {
          this.auAll++;
          if (on === ya.active[j]) this.auSame++;
        });
        x.au.probabilities.forEach((p, j) => (this.maxAu = Math.max(this.maxAu ?? 0, Math.abs(p - (ya.probabilities[j] ?? NaN)))));
      }
      if (x.va && y.va) this.maxVa = Math.max(this.maxVa ?? 0, Math.abs(x.va.valence - y.va.valence), Math.abs(x.va.arousal - y.va.arousal));
    });
  }

  /** The int8 runner, each of its decisions compared with the reference's (fp32) on the same input; both stay the caller's to close. */
  wrap(runner: AffectRunner): AffectRunner {
    const ref = this.reference;
    return {
      ...runner,
      runCnn: async (faces) => {
        const [a, b] = await Promise.all([runner.runCnn(faces), this.serial(() => ref.runCnn(faces))]);
        a.forEach((f, i) => this.pair.set(f, b[i]!));
        return a;
      },
      decideCnn: (frames) => {
        const a = runner.decideCnn(frames);
        this.compare(a, ref.decideCnn(this.fp32Of(frames)));
        return a;
      },
      decideSequence: async (frames, windowBatch, windows) => {
        const [a, b] = await Promise.all([runner.decideSequence(frames, windowBatch, windows), this.serial(() => ref.decideSequence(this.fp32Of(frames), windowBatch, windows))]);
        this.compare(a, b);
        return a;
      },
    };
  }

  result(): Fp32Agreement {
    return {
      frames: this.frames,
      exprArgmax: this.frames > 0 ? this.exprSame / this.frames : 1,
      auDecisions: this.auAll > 0 ? this.auSame / this.auAll : null,
      maxVaDiff: this.maxVa,
      maxExprProbDiff: this.maxExpr,
      maxAuProbDiff: this.maxAu,
    };
  }
}

export function formatAgreement(a: Fp32Agreement): string {
  const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
  return [
    `int8 vs fp32 on ${a.frames} frame(s): EXPR argmax ${pct(a.exprArgmax)} agree`,
    a.auDecisions !== null ? `AU decisions ${pct(a.auDecisions)} agree` : undefined,
    a.maxVaDiff !== null ? `max |Δ| VA ${a.maxVaDiff.toFixed(4)}` : undefined,
    `max |Δ| EXPR prob ${a.maxExprProbDiff.toFixed(4)}`,
    a.maxAuProbDiff !== null ? `max |Δ| AU prob ${a.maxAuProbDiff.toFixed(4)}` : undefined,
  ]
    .filter((s) => s !== undefined)
    .join(', ');
}
