/**
 * Runs a loaded seed ensemble on faces through per-member engines (TF.js or ONNX Runtime): the
 * CNN once per frame and member (logits plus the head features the GRU heads consume), and for
 * CNN-RNN models the GRU heads over windows of those cached features. The live daemon and
 * `daemon predict` both go through here, so they cut windows and decide frames identically.
 */
import { ErrorCodes, ModelLoadError } from '../../core/errors.js';
import { loadOrt } from '../onnx/ort.js';
import { TASK_OUTPUTS, INPUT_SIZE, type TaskName } from '../seed/constants.js';
import { decodeMemberFrame } from '../seed/decode.js';
import { manifestProvidesAuVa } from '../seed/manifest.js';
import { combineMembers, type EnsembleFrame } from '../seed/ensemble.js';
import type { LoadedEnsemble } from '../seed/model-dir.js';
import { preprocessFacePixels, type RgbFace } from '../seed/preprocess.js';
import type { FrameCache, MemberFrameCache } from '../seed/frame-cache.js';
import { runSeedWindows } from '../seed/run-seed-windows.js';
import type { SeedWindowMode } from '../seed/seed-windows.js';
import type { PerTask } from '../seed/types.js';
import { windowSpreadOf, windowUncertainty } from '../seed/uncertainty.js';
import type { EngineName, EnginePreference, MemberRunner } from './member-runner.js';
import { onnxMember } from './onnx-member.js';
import { MIN_CALIBRATION_FACES, type Int8Calibration } from '../onnx/int8-calibration.js';
import { tfjsMember } from './tfjs-member.js';

const NO_OUTPUT = new Float32Array(0);

function perTask<T>(f: (t: TaskName) => T): PerTask<T> {
  return { EXPR: f('EXPR'), AU: f('AU'), VA: f('VA') };
}

export interface EnsembleRunnerOptions {
  readonly engine: EnginePreference;
  /** Intra-op threads per ONNX Runtime session (0: ONNX Runtime's default). */
  readonly threads?: number;
  /** ONNX Runtime execution providers, from the placement (default: the CPU). */
  readonly providers?: readonly string[];
  readonly includeMembers?: boolean;
  /** Where exported graphs are cached when `<model dir>.onnx/` cannot be written (default: the user's cache). */
  readonly cacheDir?: string;
  /** With `engine: onnx-int8`: the faces the int8 CNN graphs are calibrated on (required there). */
  readonly calibration?: Int8Calibration;
}

export class EnsembleRunner {
  readonly thresholds: readonly number[];
  readonly hidden: number;
  /** False for an expressions-only model: its AU and VA heads were never trained and are not decoded. */
  private readonly auVa: boolean;

  private constructor(
    readonly ensemble: LoadedEnsemble,
    readonly members: readonly MemberRunner[],
    /** Why ONNX Runtime was not used under `auto` (undefined when it was, or was not asked for). */
    readonly fallback: string | undefined,
    private readonly includeMembers: boolean,
  ) {
    this.thresholds = ensemble.manifest.tasks.AU?.thresholds ?? [];
    this.auVa = manifestProvidesAuVa(ensemble.manifest);
    const first = members[0];
    if (first === undefined) throw new RangeError('the ensemble has no members');
    this.hidden = first.hidden;
  }

  /** Engines per member, e.g. `['onnx', 'onnx']`. The ensemble stays owned by the caller. */
  static async open(ensemble: LoadedEnsemble, opts: EnsembleRunnerOptions): Promise<EnsembleRunner> {
    let fallback: string | undefined;
    let ort: Awaited<ReturnType<typeof loadOrt>> | undefined;
    // int8 is an explicit opt-in: it never falls back silently (to fp32 or TF.js).
    const forced = opts.engine === 'onnx' || opts.engine === 'onnx-int8';
    const int8 = opts.engine === 'onnx-int8' ? opts.calibration : undefined;
    if (opts.engine === 'onnx-int8' && (int8 === undefined || int8.faces.length < MIN_CALIBRATION_FACES)) {
      throw new ModelLoadError(
        ErrorCodes.MODEL_LOAD,
        `engine onnx-int8 needs at least ${MIN_CALIBRATION_FACES} calibration faces${int8 !== undefined ? `; ${int8.name} has ${int8.faces.length}` : ''}`,
      );
    }
    if (opts.engine !== 'tfjs') {
      try {
        ort = await loadOrt();
      } catch (err) {
        if (forced) throw err;
        fallback = (err as Error).message;
      }
    }
    const members: MemberRunner[] = [];
    try {
      for (const m of ensemble.members) {
        // By name: the loaded members may be a subset of the manifest's (the students only).
        const spec = ensemble.manifest.members.find((x) => x.name === m.name);
        if (ort && spec) {
          try {
            const src = { model: m.model, dir: ensemble.dir, weights: spec.weights, name: m.name, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}), ...(int8 !== undefined ? { int8 } : {}) };
            members.push(await onnxMember(ort, src, { threads: opts.threads ?? 0, providers: opts.providers ?? ['cpu'] }));
            continue;
          } catch (err) {
            if (forced) throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `member ${m.name} cannot run on ONNX Runtime: ${(err as Error).message}`, { cause: err });
            fallback = `member ${m.name}: ${(err as Error).message}`;
          }
        }
        members.push(tfjsMember(m.model));
      }
    } catch (err) {
      await Promise.all(members.map((m) => m.close()));
      throw err;
    }
    return new EnsembleRunner(ensemble, members, fallback, opts.includeMembers === true);
  }

  get kind(): LoadedEnsemble['kind'] {
    return this.ensemble.kind;
  }

  get seqLen(): number {
    return this.ensemble.manifest.seqLen ?? 1;
  }

  /** `onnx`, `tfjs`, or `hybrid` when members differ. */
  get engine(): EngineName | 'hybrid' {
    const set = new Set(this.members.map((m) => m.engine));
    return set.size === 1 ? (this.members[0]!.engine as EngineName) : 'hybrid';
  }

  /** Backbone + CNN heads of every member on a batch of faces (any size, exact PIL preprocessing). */
  async runCnn(faces: readonly RgbFace[]): Promise<FrameCache[]> {
    if (faces.length === 0) return [];
    const size = INPUT_SIZE * INPUT_SIZE * 3;
    const input = new Float32Array(faces.length * size);
    faces.forEach((f, i) => input.set(preprocessFacePixels(f), i * size));
    const frames: MemberFrameCache[][] = faces.map(() => []);
    for (const member of this.members) {
      const out = await member.cnn(input, faces.length);
      faces.forEach((_, i) => {
        frames[i]?.push({
          features: perTask((t) => out.features[t].slice(i * this.hidden, (i + 1) * this.hidden)),
          // An expressions-only model's AU / VA heads are cut here, at the source: every later
          // decision (here, in the affect worker's callers, in predict's pool) sees them absent.
          logits: perTask((t) => (this.auVa || t === 'EXPR' ? out.logits[t].slice(i * TASK_OUTPUTS[t], (i + 1) * TASK_OUTPUTS[t]) : NO_OUTPUT)),
        });
      });
    }
    return frames;
  }

  /** decideCachedFrame's rule on per-member logits, an expressions-only model's AU / VA left out. */
  decide(perMember: readonly PerTask<ArrayLike<number>>[]): EnsembleFrame {
    return combineMembers(
      perMember.map((l) => decodeMemberFrame(this.auVa ? l : { EXPR: l.EXPR, AU: NO_OUTPUT, VA: NO_OUTPUT })),
      { thresholds: this.thresholds, includeMembers: this.includeMembers },
    );
  }

  decideCnn(frames: readonly FrameCache[]): EnsembleFrame[] {
    return frames.map((f) => this.decide(f.map((m) => m.logits)));
  }

  /**
   * GRU heads of every member over a batch of windows (each `seqLen` frames, oldest first), decided
   * per window position. Ids and outputs are both flattened in (window, position) order.
   */
  async runWindows(windows: readonly (readonly FrameCache[])[]): Promise<EnsembleFrame[][]> {
    if (this.kind !== 'cnn-rnn') throw new RangeError('runWindows() needs a cnn-rnn model');
    if (windows.length === 0) return [];
    const { seqLen, hidden } = this;
    for (const w of windows) if (w.length !== seqLen) throw new RangeError(`a window holds ${w.length} frames, the model needs ${seqLen}`);
    const perMember: PerTask<Float32Array>[] = [];
    for (const [mi, member] of this.members.entries()) {
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
      perMember.push(await member.gru(feats, windows.length, seqLen));
    }
    return windows.map((_, b) => {
      const positions = Array.from({ length: seqLen }, (__, k) => {
        const row = b * seqLen + k;
        return this.decide(perMember.map((m) => perTask((t) => m[t].subarray(row * TASK_OUTPUTS[t], (row + 1) * TASK_OUTPUTS[t]))));
      });
      // Every frame of a window reports the window's spread, decided here once for live and predict alike.
      const spread = windowUncertainty(positions);
      return positions.map((f) => ({ ...f, uncertainty: { ...f.uncertainty, window: windowSpreadOf(spread, f) } }));
    });
  }

  /** The seed's windows (spec §7.3) over one sequence of cached frames; one decision per frame. */
  async decideSequence(frames: readonly FrameCache[], windowBatch: number, mode: SeedWindowMode = 'complete'): Promise<EnsembleFrame[]> {
    if (this.kind !== 'cnn-rnn') throw new RangeError('decideSequence() needs a cnn-rnn model');
    return runSeedWindows(frames, this.seqLen, windowBatch, (windows) => this.runWindows(windows), 1, mode);
  }

  /** Releases the engines' sessions (not the ensemble's weights). Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.close()));
  }
}

