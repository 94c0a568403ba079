/**
 * `daemon bench train`: images/s of one teacher step as the seed takes it (three task batches,
 * each through the whole model in train mode, the task losses, backward, Adam), and of the
 * train-mode forward alone, per engine (`onnx`: ONNX Runtime's gradients, TF.js's losses and
 * Adam, as `daemon train` runs by default without native TensorFlow; a TF.js backend name: the
 * tape on that backend); plus PyTorch's figure from
 * tools/train_bench_reference.py (2 threads) when /usr/bin/python3 has torch.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { NamedTensorMap } from '../../models/tf.js';
import { tf, type Tensor4D } from '../../models/tf.js';
import type { BackendPreference } from '../../models/backend.js';
import { packageRoot } from '../../paths.js';
import { Adam, SEED_ADAM } from '../../train/adam.js';
import { teacherTaskLoss, type TaskLabels } from '../../train/losses.js';
import { summedGrads } from '../../train/loop/summed-grads.js';
import { OnnxCnnStep } from '../../train/engine/onnx-cnn-step.js';
import { selectTrainingBackend } from '../../train/engine/train-backend.js';
import { archDims, TrainableNet } from '../../train/nets/trainable-net.js';

export interface BenchTrainOptions {
  readonly arch: 'compact' | 'resnet50';
  readonly width: number;
  readonly batch: number;
  readonly seconds: number;
  readonly backends: readonly string[];
}

export interface BenchTrainReport {
  readonly engine: string;
  readonly available: boolean;
  readonly error?: string;
  /** Images per second of the full teacher step (3 task batches of `batch`). */
  readonly imagesPerSecond?: number;
  readonly forwardImagesPerSecond?: number;
  readonly backwardImagesPerSecond?: number;
  readonly steps?: number;
}

async function timeLoop(seconds: number, f: () => Promise<void>): Promise<{ n: number; s: number }> {
  await f();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000 || n < 2) {
    await f();
    n++;
  }
  return { n, s: (performance.now() - t0) / 1000 };
}

export async function benchTrain(o: BenchTrainOptions): Promise<BenchTrainReport[]> {
  const reports: BenchTrainReport[] = [];
  const arch = o.arch === 'resnet50' ? 'resnet50-caffe' : 'compact';
  for (const be of o.backends) {
    try {
      const onnx = be === 'onnx';
      // The onnx engine keeps TF.js for the losses: on whichever backend starts.
      const info = await selectTrainingBackend(onnx ? 'auto' : (be as BackendPreference));
      const net = TrainableNet.random(arch, 'cnn', archDims(arch, o.width), 1);
      const vars = net.trainable();
      const adam = new Adam(new Map(net.trainableNames().map((n, i) => [n, vars[i] as tf.Variable] as const)), SEED_ADAM);
      const x = tf.randomUniform([o.batch, 112, 112, 3], -128, 128, 'float32', 1) as Tensor4D;
      const labels: TaskLabels[] = [
        { task: 'EXPR', y: tf.tensor1d(Array.from({ length: o.batch }, (_, i) => i % 7), 'int32') },
        { task: 'AU', y: tf.tensor2d(Array.from({ length: o.batch * 8 }, (_, i) => (i % 3 === 0 ? 1 : 0)), [o.batch, 8]) },
        { task: 'VA', y: tf.tensor2d(Array.from({ length: o.batch * 2 }, (_, i) => Math.sin(i)), [o.batch, 2]) },
      ];
      let step: OnnxCnnStep | undefined;
      try {
        if (onnx) step = await OnnxCnnStep.create(net, o.batch, labels.length);
        // As daemon train runs it: parameters and Adam's moments stay in the step's arrays.
        await step?.load({ state: await adam.state(), options: SEED_ADAM });
        const fwd = await timeLoop(o.seconds / 2, async () => {
          if (step !== undefined) {
            await step.forward(labels.map(() => x));
            return;
          }
          const outs = tf.tidy(() => labels.map((l) => net.cnn(x, { training: true }).logits[l.task]));
          await outs[2]?.data();
          tf.dispose(outs);
        });
        const timed = await timeLoop(o.seconds / 2, async () => {
          // As the training loop takes it: on ONNX Runtime the task batches stacked in one
          // forward and one backward; on TF.js one backward pass per task batch, gradients summed.
          if (step !== undefined) {
            await step.train({ count: labels.length, x: () => x, term: (i, logits) => teacherTaskLoss(logits[labels[i]!.task], labels[i]!) }, SEED_ADAM.lr);
            return;
          }
          const { grads } = await summedGrads(labels.length, (i) => teacherTaskLoss(net.cnn(x, { training: true }).logits[labels[i]!.task], labels[i]!), vars);
          adam.apply(grads);
          tf.dispose(Object.values(grads));
        });
        const perStep = 3 * o.batch;
        const fwdIps = (fwd.n * perStep) / fwd.s;
        const stepIps = (timed.n * perStep) / timed.s;
        // Backward (+ Adam) alone: the step's time minus the forward's.
        const bwdSec = timed.s / timed.n - fwd.s / fwd.n;
        reports.push({ engine: onnx ? 'onnx' : `tfjs-${info.name}`, available: true, imagesPerSecond: stepIps, forwardImagesPerSecond: fwdIps, backwardImagesPerSecond: bwdSec > 0 ? perStep / bwdSec : Infinity, steps: timed.n });
      } finally {
        await step?.release();
        tf.dispose([x, ...labels.map((l) => l.y)]);
        adam.dispose();
        net.dispose();
      }
    } catch (err) {
      reports.push({ engine: be === 'onnx' ? 'onnx' : `tfjs-${be}`, available: false, error: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err) });
    }
  }
  const script = path.join(packageRoot, 'tools', 'train_bench_reference.py');
  if (existsSync('/usr/bin/python3') && existsSync(script)) {
    try {
      const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, '--arch', o.arch, '--width', String(o.width), '--batch', String(o.batch), '--seconds', String(o.seconds)], { timeout: (o.seconds * 4 + 120) * 1000 });
      reports.push({ engine: 'pytorch', available: true, ...(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as object) });
    } catch (err) {
      reports.push({ engine: 'pytorch', available: false, error: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err) });
    }
  }
  return reports;
}
