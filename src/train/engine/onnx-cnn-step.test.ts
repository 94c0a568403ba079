/**
 * The ONNX Runtime training step against TF.js's tape on the same net, batch and losses: the
 * summed loss, every parameter's gradient and the BN running statistics after the step agree,
 * for both backbones (ResNet-50 with its conv5_3 dropouts drawn identically); nothing leaks.
 */
import { describe, expect, it } from 'vitest';
import { tf, type Tensor4D } from '../../models/tf.js';
import { scaledResNet50Dims } from '../../models/seed/resnet50-layers.js';
import { teacherTaskLoss, type Logits3, type TaskLabels } from '../losses.js';
import { summedGrads } from '../loop/summed-grads.js';
import { compactDims, TrainableNet } from '../nets/trainable-net.js';
import { OnnxCnnStep } from './onnx-cnn-step.js';
import { selectTrainingBackend } from './train-backend.js';

const B = 4;

function labels(): TaskLabels[] {
  return [
    { task: 'EXPR', y: tf.tensor1d([0, 3, 6, 2], 'int32') },
    { task: 'AU', y: tf.tensor2d(Array.from({ length: B * 8 }, (_, i) => (i % 3 === 0 ? 1 : 0)), [B, 8]) },
    { task: 'VA', y: tf.tensor2d(Array.from({ length: B * 2 }, (_, i) => Math.sin(i) * 0.8), [B, 2]) },
  ];
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] ?? 0) * (b[i] ?? 0);
    aa += (a[i] ?? 0) ** 2;
    bb += (b[i] ?? 0) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    den = Math.max(den, Math.abs(a[i] ?? 0));
  }
  return num / Math.max(den, 1e-12);
}

/** ‖b‖ / ‖a‖ − 1 and ‖a − b‖ / ‖a‖ (Euclidean norms): the scale a cosine cannot see. */
function normErrors(a: Float32Array, b: Float32Array): { scale: number; l2: number } {
  let aa = 0;
  let bb = 0;
  let dd = 0;
  for (let i = 0; i < a.length; i++) {
    aa += (a[i] ?? 0) ** 2;
    bb += (b[i] ?? 0) ** 2;
    dd += ((a[i] ?? 0) - (b[i] ?? 0)) ** 2;
  }
  return { scale: Math.sqrt(bb / aa) - 1, l2: Math.sqrt(dd / aa) };
}

describe('ONNX Runtime training step', () => {
  // The reduced ResNet-50's gradient is compared tensor by tensor in the Euclidean norm, not
  // entry by entry: 50 layers of batch-4 BatchNorm at random init amplify float32 noise on single
  // entries of the early layers. Per tensor, measured on these nets and batches: ‖onnx − tape‖ is
  // at most 2.7 % of ‖tape‖ (conv4_2_1x1_increase_bn/beta) and ‖onnx‖ / ‖tape‖ within 1.5 % of 1
  // (conv2_3_1x1_reduce_bn/gamma); a gradient off by a factor (a missing 1/N, a doubled path) is
  // off by that factor in both. The compact ones are compared entry by entry.
  it.each([
    ['compact', true, 2e-3, () => TrainableNet.random('compact', 'cnn', compactDims(0.125), 3)],
    // A stem of more than 32 channels takes the other form of the stem's kernel gradient (both
    // forms put this net's stem gradient 0.61 % from the tape's, the same figure to 7 digits:
    // float noise that flips a max-pool argmax; a wrong layout would be off by its own size).
    ['compact, a wide stem', true, 1e-2, () => TrainableNet.random('compact', 'cnn', { backbone: { arch: 'compact', dims: { stem: 40, stages: [8, 16, 16, 16] } }, hidden: 16, gruHidden: 8 }, 3)],
    ['resnet50-caffe', false, 0, () => TrainableNet.random('resnet50-caffe', 'cnn', { backbone: { arch: 'resnet50-caffe', dims: scaledResNet50Dims(16) }, hidden: 16, gruHidden: 8 }, 3)],
  ] as const)('%s: loss, gradients and running statistics equal the TF.js tape', async (_name, tight, stemTolerance, make) => {
    await selectTrainingBackend('wasm');
    const before = tf.memory().numTensors;
    const tape = make();
    const onnx = make();
    const xs = [0, 1, 2].map((i) => tf.randomUniform([B, 112, 112, 3], -120, 120, 'float32', 11 + i) as Tensor4D);
    const ls = labels();
    const seedOf = (i: number): number => 40 + i;

    const ref = await summedGrads(3, (i) => teacherTaskLoss(tape.cnn(xs[i]!, { training: true, dropoutSeed: seedOf(i) }).logits[ls[i]!.task], ls[i]!), tape.trainable());
    const step = await OnnxCnnStep.create(onnx, B, 3, 2);
    const got = await step.summedGrads(3, (i) => xs[i]!, (i, logits) => teacherTaskLoss(logits[ls[i]!.task], ls[i]!), 1, seedOf);
    await step.release();

    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
    const names = tape.trainableNames();
    let checked = 0;
    for (const name of names) {
      const r = ref.grads[tape.vars.get(name)!.name];
      const g = got.grads[onnx.vars.get(name)!.name];
      expect(r, name).toBeDefined();
      expect(g, name).toBeDefined();
      expect(g!.shape).toEqual(r!.shape);
      const a = (await r!.data()) as Float32Array;
      const b = (await g!.data()) as Float32Array;
      if (tight) expect(relErr(a, b), name).toBeLessThan(name === 'backbone/conv1/kernel' ? stemTolerance : 2e-3);
      else {
        const e = normErrors(a, b);
        expect(Math.abs(e.scale), name).toBeLessThan(0.05);
        expect(e.l2, name).toBeLessThan(0.1);
      }
      checked++;
    }
    expect(checked).toBe(names.length);
    expect(Object.keys(got.grads).length).toBe(names.length);
    for (const [name, v] of tape.vars) {
      if (!name.endsWith('/moving_mean') && !name.endsWith('/moving_variance')) continue;
      expect(relErr((await v.data()) as Float32Array, (await onnx.vars.get(name)!.data()) as Float32Array), name).toBeLessThan(tight ? 1e-3 : 1e-2);
    }
    tf.dispose([...Object.values(ref.grads), ...Object.values(got.grads), ...xs, ...ls.map((l) => l.y)]);
    tape.dispose();
    onnx.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 600_000);

  it('refuses a batch of another size than it was built for, survives a loss that throws, and leaks nothing', async () => {
    await selectTrainingBackend('wasm');
    const before = tf.memory().numTensors;
    const net = TrainableNet.random('compact', 'cnn', compactDims(0.125), 5);
    const step = await OnnxCnnStep.create(net, B, 1, 1);
    const x = tf.zeros([B + 1, 112, 112, 3]) as Tensor4D;
    const ls = labels();
    await expect(step.summedGrads(1, () => x, (_i, l) => teacherTaskLoss(l.EXPR, ls[0]!))).rejects.toThrow(/batches of 4/);
    // A loss that throws half-way through its tape: nothing left behind, the step still usable.
    const good = tf.zeros([B, 112, 112, 3]) as Tensor4D;
    const throwing = (_i: number, l: Logits3): tf.Scalar => {
      tf.sigmoid(tf.mul(l.AU, 2));
      throw new Error('bad labels');
    };
    const mid = tf.memory().numTensors;
    await expect(step.summedGrads(1, () => good, throwing)).rejects.toThrow('bad labels');
    expect(tf.memory().numTensors).toBe(mid);
    const ok = await step.summedGrads(1, () => good, (_i, l) => teacherTaskLoss(l.EXPR, ls[0]!));
    expect(Number.isFinite(ok.loss)).toBe(true);
    tf.dispose([good, ...Object.values(ok.grads)]);
    await step.release();
    await expect(step.summedGrads(1, () => x, (_i, l) => teacherTaskLoss(l.EXPR, ls[0]!))).rejects.toThrow();
    tf.dispose([x, ...ls.map((l) => l.y)]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ONNX Runtime training state', () => {
  it('load → train ×3 → store gives the parameters, statistics and Adam state of three tape steps with Adam', async () => {
    await selectTrainingBackend('wasm');
    const before = tf.memory().numTensors;
    const { Adam, SEED_ADAM } = await import('../adam.js');
    const tape = TrainableNet.random('compact', 'cnn', compactDims(0.125), 8);
    const onnx = TrainableNet.random('compact', 'cnn', compactDims(0.125), 8);
    const adamOf = (n: TrainableNet): InstanceType<typeof Adam> => new Adam(new Map(n.trainableNames().map((k, i) => [k, n.trainable()[i]!] as const)), { ...SEED_ADAM, lr: 1e-3 });
    const a1 = adamOf(tape);
    const a2 = adamOf(onnx);
    const xs = [0, 1, 2].map((i) => tf.randomUniform([B, 112, 112, 3], -120, 120, 'float32', 21 + i) as Tensor4D);
    const ls = labels();
    const init = await tape.snapshot();
    const step = await OnnxCnnStep.create(onnx, B, 3, 2);
    await step.load({ state: await a2.state(), options: { ...SEED_ADAM, lr: 1e-3 } });
    for (let s = 0; s < 3; s++) {
      const r = await summedGrads(3, (i) => teacherTaskLoss(tape.cnn(xs[(i + s) % 3]!, { training: true }).logits[ls[i]!.task], ls[i]!), tape.trainable());
      a1.apply(r.grads);
      tf.dispose(Object.values(r.grads));
      await step.train({ count: 3, x: (i) => xs[(i + s) % 3]!, term: (i, logits) => teacherTaskLoss(logits[ls[i]!.task], ls[i]!) }, 1e-3);
      if (s === 0) {
        // After one step Adam's moments are the first gradient (and its square), scaled: they
        // must agree as the gradients do, in the model directory's layouts (a transposed kernel
        // would be off by its own size; float noise that flips a max-pool argmax moves a few
        // percent of the stem's gradient).
        step.store(a2);
        const s1 = await a1.state();
        const s2 = await a2.state();
        expect(s2.step).toBe(1);
        for (const [name, m] of s1.m) expect(relErr(m, s2.m.get(name)!), name).toBeLessThan(5e-2);
        for (const [name, v] of s1.v) expect(relErr(v, s2.v.get(name)!), name).toBeLessThan(1e-1);
      }
    }
    step.store(a2);
    await step.release();
    // Adam moves an entry whose gradient is float noise by up to lr per step, in a direction the
    // noise picks, so three steps' updates are compared by direction.
    for (const [name, v] of tape.vars) {
      const a = (await v.data()) as Float32Array;
      const b = (await onnx.vars.get(name)!.data()) as Float32Array;
      if (name.endsWith('/moving_mean') || name.endsWith('/moving_variance')) {
        expect(relErr(a, b), name).toBeLessThan(1e-2);
        continue;
      }
      const p0 = init.get(name)!;
      const da = a.map((x, i) => x - p0[i]!);
      const db = b.map((x, i) => x - p0[i]!);
      expect(Math.max(...da.map(Math.abs)), name).toBeGreaterThan(1e-5);
      expect(1 - cosine(da, db), name).toBeLessThan(0.02);
    }
    expect((await a2.state()).step).toBe(3);
    tf.dispose([...xs, ...ls.map((l) => l.y)]);
    a1.dispose();
    a2.dispose();
    tape.dispose();
    onnx.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ONNX Runtime training state on a backend that keeps the arrays it is given (cpu)', () => {
  it('what store() wrote, and snapshots taken after it, do not change when training goes on', async () => {
    await selectTrainingBackend('cpu');
    try {
      const { Adam, SEED_ADAM } = await import('../adam.js');
      const net = TrainableNet.random('compact', 'cnn', compactDims(0.125), 9);
      const adam = new Adam(new Map(net.trainableNames().map((k, i) => [k, net.trainable()[i]!] as const)), SEED_ADAM);
      const xs = [0, 1, 2].map((i) => tf.randomUniform([B, 112, 112, 3], -120, 120, 'float32', 31 + i) as Tensor4D);
      const ls = labels();
      const step = await OnnxCnnStep.create(net, B, 3, 2);
      await step.load({ state: await adam.state(), options: SEED_ADAM });
      const terms = { count: 3, x: (i: number) => xs[i]!, term: (i: number, logits: Logits3) => teacherTaskLoss(logits[ls[i]!.task], ls[i]!) };
      await step.train(terms, 1e-3);
      step.store(adam);
      const best = await net.snapshot();
      const frozen = new Map([...best].map(([k, v]) => [k, v.slice()] as const));
      const moments = await adam.state();
      const frozenM = new Map([...moments.m].map(([k, v]) => [k, v.slice()] as const));
      await step.train(terms, 1e-3);
      await step.train(terms, 1e-3);
      let changed = 0;
      for (const [k, v] of frozen) if (v.some((x, i) => x !== best.get(k)![i])) changed++;
      for (const [k, v] of frozenM) if (v.some((x, i) => x !== moments.m.get(k)![i])) changed++;
      expect(changed).toBe(0);
      // The net itself still holds the stored step, not the later ones.
      for (const [k, v] of frozen) expect(Array.from((await net.vars.get(k)!.data()) as Float32Array), k).toEqual(Array.from(v));
      await step.release();
      tf.dispose([...xs, ...ls.map((l) => l.y)]);
      adam.dispose();
      net.dispose();
    } finally {
      await selectTrainingBackend('wasm');
    }
  });
});

describe('ONNX Runtime training: task batches stacked', () => {
  // Very different inputs per task batch (BatchNorm must keep their statistics apart), a task
  // batch whose loss is zero, and the ResNet-50's dropout drawn per task batch.
  it.each([
    ['compact, 2 task batches', 2, -1, () => TrainableNet.random('compact', 'cnn', compactDims(0.125), 3)],
    ['resnet50-caffe, 3 task batches, the first with a zero loss', 3, 0, () => TrainableNet.random('resnet50-caffe', 'cnn', { backbone: { arch: 'resnet50-caffe', dims: scaledResNet50Dims(16) }, hidden: 16, gruHidden: 8 }, 3)],
  ] as const)('%s: one stacked call equals the task batches run one by one', async (_name, count, zero, make) => {
    await selectTrainingBackend('wasm');
    const before = tf.memory().numTensors;
    const stackedNet = make();
    const singleNet = make();
    const scales = [1, 0.01, 5];
    const shifts = [0, 80, -30];
    const xs = Array.from({ length: count }, (_, i) => tf.tidy(() => tf.add(tf.mul(tf.randomUniform([B, 112, 112, 3], -120, 120, 'float32', 51 + i), scales[i]!), shifts[i]!)) as Tensor4D);
    const ls = labels();
    const term = (i: number, logits: Logits3): tf.Scalar => {
      const l = teacherTaskLoss(logits[ls[i]!.task], ls[i]!);
      return i === zero ? (tf.mul(l, 0) as tf.Scalar) : l;
    };
    const seedOf = (i: number): number => 70 + i;
    const stacked = await OnnxCnnStep.create(stackedNet, B, count, 2);
    const got = await stacked.summedGrads(count, (i) => xs[i]!, term, 1, seedOf);
    await stacked.release();
    const single = await OnnxCnnStep.create(singleNet, B, 1, 2);
    const sums = new Map<string, Float32Array>();
    let loss = 0;
    for (let i = 0; i < count; i++) {
      const r = await single.summedGrads(1, () => xs[i]!, (_j, logits) => term(i, logits), 1, () => seedOf(i));
      loss += r.loss;
      for (const [k, t] of Object.entries(r.grads)) {
        const d = (await t.data()) as Float32Array;
        const prev = sums.get(k);
        sums.set(k, prev === undefined ? d.slice() : prev.map((v, j) => v + d[j]!));
      }
      tf.dispose(Object.values(r.grads));
    }
    await single.release();
    expect(got.loss).toBeCloseTo(loss, 4);
    for (const name of stackedNet.trainableNames()) {
      const g = (await got.grads[stackedNet.vars.get(name)!.name]!.data()) as Float32Array;
      expect(relErr(sums.get(singleNet.vars.get(name)!.name)!, g), name).toBeLessThan(1e-4);
    }
    // Running statistics: updated task batch by task batch in the same order either way.
    for (const [name, v] of stackedNet.vars) {
      if (name.includes('/moving_')) expect(relErr((await singleNet.vars.get(name)!.data()) as Float32Array, (await v.data()) as Float32Array), name).toBeLessThan(1e-5);
    }
    tf.dispose([...Object.values(got.grads), ...xs, ...ls.map((l) => l.y)]);
    stackedNet.dispose();
    singleNet.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

