/** The training config: defaults as the seed's, CLI overrides, every problem listed at once. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { parseTrainConfig } from './config.js';

const data = { sources: [{ kind: 'aff-wild2', annotations: 'a', images: 'i' }] };

describe('train config', () => {
  it("defaults to the seed's hyper-parameters and resolves paths against the config's directory", () => {
    const c = parseTrainConfig({ out: 'm', data }, {}, '/base');
    expect(c.out).toBe('/base/m');
    expect(c.data.sources[0]).toMatchObject({ images: '/base/i' });
    expect(c.optimizer).toEqual({ lr: 1e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 });
    expect(c.loss).toMatchObject({ EXPR: 1, AU: 8, V: 1, A: 1, ccc: 1, lambdaTeacher: 0.4, temperature: 1.5 });
    expect(c.teacher).toEqual({ from: 'train', epochs: 8 });
    expect(c.students).toEqual({ count: 5, epochs: 3 });
    expect(c.batch).toBe(20);
    expect(c.lrSchedule).toEqual({ kind: 'step', stepEpochs: 3, gamma: 0.1 });
  });

  it('applies CLI overrides', () => {
    const c = parseTrainConfig({ out: 'm', data }, { epochs: 2, batch: 4, students: 1, arch: 'compact', width: 0.5, seed: 9 }, '/b');
    expect([c.teacher, c.students, c.batch, c.width, c.seed]).toEqual([{ from: 'train', epochs: 2 }, { count: 1, epochs: 2 }, 4, 0.5, 9]);
  });

  it('lists every problem in one ConfigError', () => {
    let err: unknown;
    try {
      parseTrainConfig({ out: '', batch: 1, kind: 'cnn-rnn', arch: 'resnet50-caffe', width: 0.5, bogus: 1, data: { sources: [{ kind: 'disfa' }] } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const p of ['out', 'batch', 'bogus', 'data.sources.0.kind']) expect(problems).toContain(p);
  });
});
