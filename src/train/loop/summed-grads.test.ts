import { describe, expect, it } from 'vitest';
import { tf } from '../../models/tf.js';
import { selectTrainingBackend } from '../engine/train-backend.js';
import { teacherTaskLoss, type TaskLabels } from '../losses.js';
import { compactDims, TrainableNet } from '../nets/trainable-net.js';
import { summedGrads } from './summed-grads.js';

describe('summedGrads', () => {
  it('equals the gradient of the summed loss, heads of other tasks included, and leaks nothing', async () => {
    await selectTrainingBackend('wasm');
    const net = TrainableNet.random('compact', 'cnn', compactDims(0.125), 2);
    try {
      const vars = net.trainable('all');
      const xs = [1, 2, 3].map((s) => tf.randomUniform([3, 112, 112, 3], -100, 100, 'float32', s) as tf.Tensor4D);
      const labels: TaskLabels[] = [
        { task: 'EXPR', y: tf.tensor1d([0, 4, 6], 'int32') },
        { task: 'AU', y: tf.tensor2d([[1, 0, 1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1, 0, 1], [1, 1, 0, 0, 1, 1, 0, 0]]) },
        { task: 'VA', y: tf.tensor2d([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]]) },
      ];
      // Eval-mode BN and no dropout: both passes see exactly the same function.
      const term = (i: number): tf.Scalar => teacherTaskLoss(net.cnn(xs[i]!, { training: false }).logits[labels[i]!.task], labels[i]!);
      const before = tf.memory().numTensors;
      const joint = tf.variableGrads(() => tf.mul(tf.addN([0, 1, 2].map(term)), 0.5) as tf.Scalar, vars);
      const split = await summedGrads(3, term, vars, 0.5);
      expect(Object.keys(split.grads).sort()).toEqual(Object.keys(joint.grads).sort());
      expect(Object.keys(split.grads).some((k) => k.startsWith('heads/EXPR'))).toBe(true);
      expect(Object.keys(split.grads).some((k) => k.startsWith('heads/VA'))).toBe(true);
      expect(split.loss).toBeCloseTo(joint.value.dataSync()[0]!, 4);
      for (const [k, g] of Object.entries(joint.grads)) {
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(split.grads[k]!, g))).dataSync()[0]! / Math.max(1e-12, tf.max(tf.abs(g)).dataSync()[0]!));
        expect(d, k).toBeLessThan(1e-5);
      }
      tf.dispose([joint.value, ...Object.values(joint.grads), ...Object.values(split.grads)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([...xs, ...labels.map((l) => l.y)]);
    } finally {
      net.dispose();
    }
  });

  it('a term that throws leaves no tensor behind', async () => {
    await selectTrainingBackend('wasm');
    const net = TrainableNet.random('compact', 'cnn', compactDims(0.125), 3);
    try {
      const x = tf.randomUniform([3, 112, 112, 3], -100, 100, 'float32', 4) as tf.Tensor4D;
      const y: TaskLabels = { task: 'EXPR', y: tf.tensor1d([0, 4, 6], 'int32') };
      const before = tf.memory().numTensors;
      const term = (i: number): tf.Scalar => {
        const l = teacherTaskLoss(net.cnn(x, { training: false }).logits.EXPR, y);
        if (i === 1) throw new Error('bad batch');
        return l;
      };
      await expect(summedGrads(2, term, net.trainable('all'))).rejects.toThrow('bad batch');
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y.y]);
    } finally {
      net.dispose();
    }
  });
});
