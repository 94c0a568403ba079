/** `daemon train` as a user runs it: a bad config is exit 2 with every problem on stderr. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDaemon } from '../helpers/spawn-daemon.js';

const dir = mkdtempSync(path.join(tmpdir(), 'train-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('daemon train (CLI)', () => {
  it('rejects an invalid config with exit 2, listing every problem', async () => {
    const file = path.join(dir, 'train.yaml');
    writeFileSync(file, 'out: m\nbatch: 1\nlrSchedule: { kind: cosine }\nunknownKey: 1\ndata: { sources: [] }\n');
    const d = spawnDaemon(['train', '--config', file]);
    expect(await d.exited).toBe(2);
    const err = d.stderr.join('');
    expect(err).toContain('VA_ERR_CONFIG');
    for (const p of ['batch', 'lrSchedule.kind', 'unknownKey', 'data.sources']) expect(err).toContain(p);
  });

  it('rejects an unreadable config file with exit 2', async () => {
    const d = spawnDaemon(['train', '--config', path.join(dir, 'missing.yaml')]);
    expect(await d.exited).toBe(2);
    expect(d.stderr.join('')).toContain('missing.yaml');
  });
});
