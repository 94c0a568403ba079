/**
 * A phase resuming from a checkpoint that does not hold what the phase wrote (the run directory is
 * the user's: a torn copy, another run's file, a hand-edited one) is refused with VA_ERR_TRAIN
 * before a step runs, and leaves no tensor behind: the optimizer's moments exist before the
 * checkpoint is read, so they must be released on that path too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorCount } from '../../models/backend.js';
import { SEED_ADAM } from '../adam.js';
import type { FaceBatchLoader, LabelledFace } from '../data/types.js';
import { selectTrainingBackend } from '../engine/train-backend.js';
import { SEED_TEACHER_WEIGHTS } from '../losses.js';
import { compactDims, TrainableNet } from '../nets/trainable-net.js';
import { writeCheckpoint } from './checkpoint.js';
import { permutationSampler } from './labels.js';
import { runPhase, type PhaseOptions } from './run-phase.js';

let dir: string;
beforeAll(async () => {
  await selectTrainingBackend('wasm');
  dir = mkdtempSync(path.join(tmpdir(), 'va-run-phase-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const faces: LabelledFace[] = Array.from({ length: 4 }, (_, i) => ({ image: `f${i}.png`, expr: i }));
// Never reached: every checkpoint here is refused before the first batch is drawn.
const loader: FaceBatchLoader = () => Promise.reject(new Error('the phase drew a batch from a refused checkpoint'));

function phase(net: TrainableNet, checkpointFile: string): PhaseOptions {
  return {
    name: 'teacher',
    role: 'teacher',
    mode: 'cnn',
    net,
    streams: [{ task: 'EXPR', units: faces.map((f) => [f]), sampler: permutationSampler(faces.length, 1) }],
    val: [],
    loader,
    augmentation: { kind: 'none' },
    epochs: 1,
    batch: 2,
    adam: SEED_ADAM,
    schedule: { kind: 'constant' },
    teacherWeights: SEED_TEACHER_WEIGHTS,
    studentLoss: { lambdaTeacher: 0.4, temperature: 1.5, lambdaCcc: 1 },
    seed: 1,
    frozenBn: true,
    checkpointFile,
    checkpointEverySteps: 0,
  };
}

const meta = { phase: 'teacher', epoch: 0, step: 1, adamStep: 1, bestEpoch: -1, bestScores: null, history: [], sums: { loss: 0, n: 0, task: {} } };

/** The tensors of a checkpoint this phase could have written: the net and zero moments for every variable it trains. */
async function everyTensor(net: TrainableNet): Promise<Map<string, Float32Array>> {
  const tensors = new Map<string, Float32Array>([...(await net.snapshot())].map(([k, v]) => [`net:${k}`, v] as const));
  const sizes = net.trainable('all').map((v) => v.size);
  for (const [i, n] of net.trainableNames('all').entries()) for (const m of ['adam.m', 'adam.v']) tensors.set(`${m}:${n}`, new Float32Array(sizes[i] ?? 0));
  return tensors;
}

describe('runPhase resuming from a checkpoint that does not fit', () => {
  it.each([
    ['a corrupt file', (file: string, _net: TrainableNet) => Promise.resolve(writeFileSync(file, Buffer.from('not a checkpoint at all'))), /corrupt checkpoint/],
    ['one without the net', (file: string) => writeCheckpoint(file, meta, new Map()), /checkpoint lacks /],
    [
      'one with the net but without the optimizer state',
      async (file: string, net: TrainableNet) => writeCheckpoint(file, meta, new Map([...(await net.snapshot())].map(([k, v]) => [`net:${k}`, v] as const))),
      /optimizer state lacks /,
    ],
    ['one whose position is not a position', async (file: string, net: TrainableNet) => writeCheckpoint(file, { ...meta, step: 'one' }, await everyTensor(net)), /corrupt checkpoint \(meta\.step /],
    ['one whose history is not a list', async (file: string, net: TrainableNet) => writeCheckpoint(file, { ...meta, history: 5 }, await everyTensor(net)), /corrupt checkpoint \(meta\.history /],
    ['one without meta', (file: string) => writeCheckpoint(file, null, new Map()), /corrupt checkpoint \(meta /],
  ] as const)('%s: refused with VA_ERR_TRAIN, no tensor left', async (_name, plant, message) => {
    const net = TrainableNet.random('compact', 'cnn', compactDims(0.125), 3);
    try {
      const file = path.join(dir, `${_name.replaceAll(' ', '-')}.bin`);
      await plant(file, net);
      const before = tensorCount();
      const err: unknown = await runPhase(phase(net, file)).then(
        () => new Error('resolved: the checkpoint was accepted'),
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'VA_ERR_TRAIN', message: expect.stringMatching(message) as unknown });
      expect(tensorCount()).toBe(before);
    } finally {
      net.dispose();
    }
  });
});
