/**
 * What the daemon, `daemon predict` and the benches need from a loaded affect model, whichever
 * kind its directory holds: the seed's CNN / CNN-RNN ensembles, or packaged expression
 * classifiers (`architecture: packaged-expression`). The manifest's `architecture` decides.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isPackagedManifestJson, type FaceCropSpec, type PackagedManifest } from '../packaged/manifest.js';
import { PackagedRunner } from '../packaged/packaged-runner.js';
import { loadModelDir, type EnsembleFrame, type ModelManifest, type RgbFace } from '../seed/index.js';
import { SeedRunner, type FrameCache } from '../seed/seed-runner.js';

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
  /** The crop each face is cut to before it reaches `runCnn`, and its side in pixels (null: the daemon's alignment size). */
  readonly crop: FaceCropSpec;
  readonly cropSize: number | null;
  runCnn(faces: readonly RgbFace[]): FrameCache[];
  decideCnn(frames: readonly FrameCache[]): EnsembleFrame[];
  decideSequence(frames: readonly FrameCache[], windowBatch: number): EnsembleFrame[];
  dispose(): void;
}

/** Whether a manifest (or a runner's) provides AU and VA. */
export function providesAuVa(m: AffectManifest): m is ModelManifest {
  return m.architecture !== 'packaged-expression';
}

/** The seed runner seen through the common interface (the seed crop is the daemon's alignment). */
export function seedAffectRunner(runner: SeedRunner): AffectRunner {
  return {
    manifest: runner.ensemble.manifest,
    kind: runner.kind,
    seqLen: runner.seqLen,
    hidden: runner.hidden,
    thresholds: runner.thresholds,
    memberInfo: runner.ensemble.members,
    crop: { kind: 'aligned' },
    cropSize: null,
    runCnn: (faces) => runner.runCnn(faces),
    decideCnn: (frames) => runner.decideCnn(frames),
    decideSequence: (frames, windowBatch) => runner.decideSequence(frames, windowBatch),
    dispose: () => runner.ensemble.dispose(),
  };
}

/**
 * Loads any model directory. `seed` is also returned for a seed model, because its GRU windows
 * (runWindows) need the seed runner itself.
 */
export async function loadAffectRunner(dir: string, opts: { readonly includeMembers: boolean }): Promise<{ runner: AffectRunner; seed?: SeedRunner }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    // Unreadable or not JSON: the seed loader reports it with its usual error.
    json = undefined;
  }
  if (isPackagedManifestJson(json)) return { runner: await PackagedRunner.load(dir, json, opts) };
  const seed = new SeedRunner(await loadModelDir(dir), opts);
  return { runner: seedAffectRunner(seed), seed };
}
