/**
 * What the daemon, `daemon predict` and the benches need from a loaded affect model, whichever
 * kind its directory holds: the seed's CNN / CNN-RNN ensembles (members on ONNX Runtime or TF.js,
 * through `EnsembleRunner`), or packaged expression classifiers (`architecture:
 * packaged-expression`, TF.js graph models: they have no ONNX export, so they stay on TF.js under
 * any engine preference). The manifest's `architecture` decides.
 */
import path from 'node:path';
import { EnsembleRunner } from '../ensemble/ensemble-runner.js';
import { readModelJsonText } from '../io/read-model-file.js';
import type { EnginePreference } from '../ensemble/member-runner.js';
import { isPackagedManifestJson, type FaceCropSpec, type PackagedManifest } from '../packaged/manifest.js';
import { PackagedRunner } from '../packaged/packaged-runner.js';
import { loadModelDir, type EnsembleFrame, type ModelManifest, type RgbFace } from '../seed/index.js';
import { SeedModelError } from '../seed/errors.js';
import { manifestProvidesAuVa } from '../seed/manifest.js';
import type { FrameCache } from '../seed/frame-cache.js';
import type { SeedWindowMode } from '../seed/seed-windows.js';
import type { Int8Calibration } from '../onnx/int8-calibration.js';

export type AffectManifest = ModelManifest | PackagedManifest;

export interface AffectRunner {
  readonly manifest: AffectManifest;
  readonly kind: 'cnn' | 'cnn-rnn';
  readonly seqLen: number;
  /** Width of a cached per-frame feature (0 when the model has no sequence heads). */
  readonly hidden: number;
  /** AU thresholds (empty when the model provides no AU). */
  readonly thresholds: readonly number[];
  readonly memberInfo: readonly { readonly name: string; readonly role: string }[];
  /** Engine per member (`onnx` / `tfjs`). */
  readonly memberEngines: readonly string[];
  /** Why `auto` fell back to TF.js for seed members, when it did. */
  readonly fallback: string | undefined;
  /** The crop each face is cut to before it reaches `runCnn`, and its side in pixels (null: the daemon's alignment size). */
  readonly crop: FaceCropSpec;
  readonly cropSize: number | null;
  runCnn(faces: readonly RgbFace[]): Promise<FrameCache[]>;
  decideCnn(frames: readonly FrameCache[]): EnsembleFrame[];
  /** GRU heads over windows of cached frames (cnn-rnn seed models only). */
  runWindows(windows: readonly (readonly FrameCache[])[]): Promise<EnsembleFrame[][]>;
  /** Decisions for frames [L − n, L) of the sequence: all L of them unless `windows` is `authors` (see `runSeedWindows`). */
  decideSequence(frames: readonly FrameCache[], windowBatch: number, windows?: SeedWindowMode): Promise<EnsembleFrame[]>;
}

/**
 * A runner loaded on this thread, as the affect service hosts it: the heavy calls only (decisions
 * are `openAffectModel`'s, on the caller's thread). Its owner closes it (sessions and weights).
 */
export interface LoadedAffectRunner extends Omit<AffectRunner, 'decideCnn' | 'decideSequence'> {
  close(): Promise<void>;
}

export interface AffectRunnerOptions {
  readonly includeMembers: boolean;
  readonly engine: EnginePreference;
  /** Intra-op threads per ONNX Runtime session (0: ONNX Runtime's default). */
  readonly threads?: number;
  /** ONNX Runtime execution providers, from the placement. */
  readonly providers?: readonly string[];
  readonly cacheDir?: string;
  /** Calibration faces for `engine: onnx-int8`. */
  readonly calibration?: Int8Calibration;
  /** Load only this member of the directory (by manifest name). */
  readonly member?: string;
}

/** A seed-architecture manifest (CNN / CNN-RNN weights), as opposed to packaged classifiers. */
export function isSeedManifest(m: AffectManifest): m is ModelManifest {
  return m.architecture !== 'packaged-expression';
}

/** Whether a manifest (or a runner's) provides AU and VA (false: expressions only). */
export function providesAuVa(m: AffectManifest): boolean {
  return isSeedManifest(m) && manifestProvidesAuVa(m);
}

function engineName(engines: readonly string[]): string {
  const set = new Set(engines);
  return set.size === 1 ? (engines[0] ?? 'tfjs') : 'hybrid';
}

/** `onnx`, `tfjs`, or `hybrid` when members differ. */
export function runnerEngine(runner: Pick<AffectRunner, 'memberEngines'>): string {
  return engineName(runner.memberEngines);
}

/** A packaged expression model through the common interface (its members run on TF.js). */
function packagedAffectRunner(runner: PackagedRunner): LoadedAffectRunner {
  return {
    manifest: runner.manifest,
    kind: runner.kind,
    seqLen: runner.seqLen,
    hidden: runner.hidden,
    thresholds: runner.thresholds,
    memberInfo: runner.memberInfo,
    memberEngines: runner.members.map(() => 'tfjs'),
    fallback: undefined,
    crop: runner.crop,
    cropSize: runner.cropSize,
    runCnn: async (faces) => runner.runCnn(faces),
    runWindows: async () => {
      throw new RangeError('a packaged expression model is per-frame (kind cnn): it has no sequence heads');
    },
    close: async () => runner.dispose(),
  };
}

/**
 * Loads any model directory on this thread; the caller owns the runner. Only the affect service
 * calls this: everyone else opens a model through `openAffectModel`.
 */
export async function loadAffectRunner(dir: string, opts: AffectRunnerOptions): Promise<LoadedAffectRunner> {
  let json: unknown;
  try {
    json = JSON.parse(await readModelJsonText(path.join(dir, 'manifest.json')));
  } catch {
    // Unreadable, refused (not a regular file, too large) or not JSON: the seed loader reports it with its usual error.
    json = undefined;
  }
  if (isPackagedManifestJson(json)) return packagedAffectRunner(await PackagedRunner.load(dir, onlyMember(json, opts.member, dir), { includeMembers: opts.includeMembers }));
  const ensemble = await loadModelDir(dir, opts.member !== undefined ? { members: [opts.member] } : {});
  let runner: EnsembleRunner;
  try {
    runner = await EnsembleRunner.open(ensemble, {
      engine: opts.engine,
      includeMembers: opts.includeMembers,
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.providers !== undefined ? { providers: opts.providers } : {}),
      ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
      ...(opts.calibration !== undefined ? { calibration: opts.calibration } : {}),
    });
  } catch (err) {
    ensemble.dispose();
    throw err;
  }
  return {
    manifest: ensemble.manifest,
    kind: runner.kind,
    seqLen: runner.seqLen,
    hidden: runner.hidden,
    thresholds: runner.thresholds,
    memberInfo: ensemble.members,
    memberEngines: runner.members.map((m) => m.engine),
    fallback: runner.fallback,
    crop: { kind: 'aligned' },
    cropSize: null,
    runCnn: (faces) => runner.runCnn(faces),
    runWindows: (windows) => runner.runWindows(windows),
    close: async () => {
      await runner.close();
      ensemble.dispose();
    },
  };
}

/** A packaged manifest reduced to one member (the seed loader does the same for its own manifests). */
function onlyMember(json: unknown, member: string | undefined, dir: string): unknown {
  if (member === undefined) return json;
  const members = (json as { members?: unknown }).members;
  const kept = Array.isArray(members) ? members.filter((m) => (m as { name?: unknown } | null)?.name === member) : [];
  if (kept.length === 0) throw new SeedModelError('VA_ERR_MODEL_FILES', `${dir}: no member(s) named ${member}`, { dir, unknown: [member] });
  return { ...(json as object), members: kept };
}
