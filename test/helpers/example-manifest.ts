import { AU_THRESHOLDS } from '../../src/models/seed/constants.js';
import { seedInputSpec, seedTaskSpec, type ModelManifest } from '../../src/models/seed/manifest.js';

/** A valid cnn-rnn manifest for tests (teacher averaged in, so both members load); `over` replaces top-level fields. */
export function exampleManifest(over: Partial<ModelManifest> = {}): ModelManifest {
  return {
    formatVersion: 1,
    id: 'seed-cnn-rnn',
    version: '2020.1',
    architecture: 'resnet50-caffe',
    kind: 'cnn-rnn',
    input: seedInputSpec(),
    tasks: seedTaskSpec(AU_THRESHOLDS.cnnRnnSeq32),
    seqLen: 32,
    members: [
      { name: 'teacher', role: 'teacher', weights: 'teacher.json' },
      { name: 'student_0', role: 'student', weights: 'student_0.json' },
    ],
    ensembleWithTeacher: true,
    provenance: {
      source: 'Deng, Chen & Shi (FG 2020) released CNN_RNN checkpoints, imported unchanged',
      importedFrom: [{ file: 'CNN_RNN/0.pth', sha256: 'a'.repeat(64) }],
      trainingData: ['Aff-Wild2'],
      createdAt: '2026-11-27T21:00:00Z',
      tool: 'affect-daemon import-seed 0.1.0',
    },
    ...over,
  };
}
