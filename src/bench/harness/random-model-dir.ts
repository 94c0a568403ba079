import { AU_THRESHOLDS } from '../../models/seed/constants.js';
import { initSeedWeights } from '../../models/seed/init.js';
import { MANIFEST_FORMAT_VERSION, seedInputSpec, seedTaskSpec, type ModelManifest } from '../../models/seed/manifest.js';
import { saveModelDir } from '../../models/seed/model-dir.js';
import type { SeedArchitecture, SeedDims } from '../../models/seed/architecture.js';
import type { WeightMap } from '../../models/seed/types.js';
import { disposeWeights } from '../../models/seed/weights.js';

/**
 * A full-width CNN-RNN model directory with RANDOM weights, for speed benchmarks only: its outputs
 * mean nothing and must never be published. The manifest's provenance says so.
 */
export async function writeRandomModelDir(
  dir: string,
  opts: { readonly arch: SeedArchitecture; readonly members: number; readonly seqLen: number; readonly compactWidth?: number },
): Promise<ModelManifest> {
  const w = opts.compactWidth ?? 1;
  // The compact backbone's channel widths scale; heads and GRU keep the seed's sizes.
  const dims: SeedDims | undefined =
    opts.arch === 'compact' && w !== 1
      ? { backbone: { arch: 'compact', dims: { stem: Math.round(64 * w), stages: [64, 128, 256, 512].map((c) => Math.round(c * w)) as [number, number, number, number] } }, hidden: 128, gruHidden: 64 }
      : undefined;
  const names = Array.from({ length: opts.members }, (_, i) => `student_${i}`);
  const manifest: ModelManifest = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    id: `random-${opts.arch}${w !== 1 ? `-w${w}` : ''}`,
    version: 'bench',
    architecture: opts.arch,
    kind: 'cnn-rnn',
    input: seedInputSpec(),
    tasks: seedTaskSpec(AU_THRESHOLDS.cnnRnnSeq32),
    seqLen: opts.seqLen,
    members: names.map((name) => ({ name, role: 'student' as const, weights: `${name}.json` })),
    provenance: {
      source: 'random initialisation for speed benchmarks; not trained, outputs are meaningless',
      trainingData: [],
      createdAt: new Date().toISOString(),
      tool: 'affect-daemon bench',
    },
  };
  const members = new Map<string, WeightMap>();
  try {
    names.forEach((name, i) => members.set(name, initSeedWeights({ arch: opts.arch, kind: 'cnn-rnn', seed: 1 + i * 1000, ...(dims ? { dims } : {}) }).weights));
    await saveModelDir(dir, manifest, members);
  } finally {
    for (const w of members.values()) disposeWeights(w);
  }
  return manifest;
}
