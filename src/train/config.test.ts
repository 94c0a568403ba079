/** The training config: defaults as the seed's, CLI overrides, every problem listed at once. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { loadTrainConfig, parseTrainConfig } from './config.js';

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

/** The problems of the ConfigError `fn` throws (fails the test when it returns). */
function problemsOf(fn: () => unknown): string {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems.join('\n');
}

describe('absurd and hostile train configs are config errors (exit 2), never a hang or an OOM', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'train-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it.each([
    ['teacher.epochs', { teacher: { from: 'train', epochs: 1e9 } }],
    ['students.epochs', { students: { count: 1, epochs: 1e9 } }],
    ['students.count', { students: { count: 1e6, epochs: 1 } }],
    ['batch', { batch: 0 }],
    ['batch', { batch: 1e9 }],
    ['seqLen', { kind: 'cnn-rnn', cnn: { dir: 'c' }, seqLen: 1e6 }],
    ['width', { width: 1e9 }],
    ['optimizer.lr', { optimizer: { lr: -1e-4 } }],
    ['optimizer.lr', { optimizer: { lr: Number.NaN } }],
    ['optimizer.lr', { optimizer: { lr: Number.POSITIVE_INFINITY } }],
    ['optimizer.lr', { optimizer: { lr: 1e9 } }],
    ['optimizer.eps', { optimizer: { eps: Number.NaN } }],
    ['lrSchedule.gamma', { lrSchedule: { kind: 'step', gamma: 1e300 } }],
    ['loss.AU', { loss: { AU: 1e300 } }],
    ['loss.temperature', { loss: { temperature: 1e-300 } }],
    ['checkpoint.everySteps', { checkpoint: { everySteps: 1e300 } }],
  ])('%s: %j', (field, extra) => {
    expect(problemsOf(() => parseTrainConfig({ out: 'm', data, ...extra }, {}, '/b'))).toContain(field);
  });

  it('a CLI override is held to the same bounds (--epochs 1e9, --batch 1e9)', () => {
    expect(problemsOf(() => parseTrainConfig({ out: 'm', data }, { epochs: 1e9 }, '/b'))).toContain('epochs');
    expect(problemsOf(() => parseTrainConfig({ out: 'm', data }, { batch: 1e9 }, '/b'))).toContain('batch');
  });

  it('paths into /dev, /proc or /sys, directly or through a link, are refused by name', () => {
    const link = path.join(dir, 'zero.jsonl');
    symlinkSync('/dev/zero', link);
    const manifest = (train: string) => ({ sources: [{ kind: 'manifest', train }] });
    expect(problemsOf(() => parseTrainConfig({ out: '/dev/null', data }, {}, '/b'))).toMatch(/out: .*\/dev\/null/);
    expect(problemsOf(() => parseTrainConfig({ out: 'm', runDir: '/proc/self', data }, {}, '/b'))).toMatch(/runDir: /);
    expect(problemsOf(() => parseTrainConfig({ out: 'm', data: manifest('/dev/zero') }, {}, '/b'))).toMatch(/data\.sources\.0\.train: /);
    expect(problemsOf(() => parseTrainConfig({ out: 'm', data: manifest(link) }, {}, '/b'))).toMatch(/data\.sources\.0\.train: .*\/dev\/zero/);
    expect(problemsOf(() => parseTrainConfig({ out: 'm', data: { sources: [{ kind: 'aff-wild2', annotations: '/sys/kernel', images: 'i' }] } }, {}, '/b'))).toMatch(/annotations/);
  });

  it('a config file that is a device, a FIFO or 100 MB is refused without reading it', () => {
    expect(problemsOf(() => loadTrainConfig('/dev/zero'))).toMatch(/\/dev\/zero: not a regular file/);
    const fifo = path.join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(problemsOf(() => loadTrainConfig(fifo))).toMatch(/fifo\.yaml: not a regular file/);
    const big = path.join(dir, 'big.yaml');
    writeFileSync(big, 'out: m\n');
    truncateSync(big, 100 << 20);
    expect(problemsOf(() => loadTrainConfig(big))).toMatch(/big\.yaml: .*over the .* limit/);
  });

  it('YAML bombs: aliases that expand exponentially, and nesting as deep as the size limit allows', () => {
    const laughs = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i <= 12; i++) laughs.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    expect(problemsOf(() => loadTrainConfig(file('laughs.yaml', laughs.join('\n') + '\nout: m\n')))).toMatch(/laughs\.yaml: .*alias/i);
    // Each just under MAX_TRAIN_CONFIG_BYTES: flow sequences, block sequences on one line, flow maps.
    const n = 30_000;
    expect(problemsOf(() => loadTrainConfig(file('deep.yaml', `out: m\nx: ${'['.repeat(n)}${']'.repeat(n)}\n`)))).toMatch(/deep\.yaml: /);
    expect(problemsOf(() => loadTrainConfig(file('deep-dash.yaml', `out: m\nx:\n  ${'- '.repeat(n)}1\n`)))).toMatch(/deep-dash\.yaml: /);
    expect(problemsOf(() => loadTrainConfig(file('deep-map.yaml', `out: m\nx: ${'{a: '.repeat(n / 2)}1${'}'.repeat(n / 2)}\n`)))).toMatch(/deep-map\.yaml: /);
    // A million of them is refused by size before the parser (which V8 would kill for lack of memory).
    expect(problemsOf(() => loadTrainConfig(file('deeper.yaml', `out: m\nx: ${'['.repeat(500_000)}${']'.repeat(500_000)}\n`)))).toMatch(/deeper\.yaml: .*over the .* limit/);
  });
});
