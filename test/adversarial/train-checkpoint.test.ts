/**
 * Hostile files where a training run keeps its state: a FIFO, a directory or a huge sparse file
 * named checkpoint.bin (or a member file) in the run directory. Resuming must refuse each from
 * fstat of the open descriptor with a clear VA_ERR_TRAIN error: a FIFO read the plain way parks a
 * pool thread in open() until a writer appears (the run never starts, and cannot exit), and a huge
 * file was read whole (or failed with Node's own "greater than 2 GiB" RangeError) before anything
 * looked at it.
 */
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHECKPOINT_BYTES, checkpointBound, readCheckpoint, writeCheckpoint } from '../../src/train/loop/checkpoint.js';
import { PlantedFifos } from '../helpers/fifos.js';

let runDir: string;
const fifos = new PlantedFifos();
const MiB = 1024 * 1024;

beforeAll(() => {
  runDir = mkdtempSync(path.join(tmpdir(), 'va-train-ckpt-'));
});

afterEach(() => {
  fifos.release();
});

afterAll(() => rmSync(runDir, { recursive: true, force: true }));

let seq = 0;
const fresh = (name = 'checkpoint.bin'): string => {
  const dir = path.join(runDir, `r${seq++}`);
  mkdirSync(dir);
  return path.join(dir, name);
};

function sparse(file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** The error `p` rejects with; a read still pending after `ms` is the blocked open (the bug). */
async function refusal(p: Promise<unknown>, ms = 10_000): Promise<{ code: string; message: string }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    const r = await Promise.race([p.then(() => 'accepted' as const, (error: unknown) => ({ error })), hung]);
    if (r === 'hung') throw new Error(`still pending after ${ms} ms: the read blocked`);
    if (r === 'accepted') throw new Error('resolved: the hostile file was accepted');
    const e = r.error as { code?: unknown; message?: unknown };
    return { code: String(e.code), message: String(e.message) };
  } finally {
    clearTimeout(timer);
  }
}

function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? 'NaN') * 1024;
}

describe('a hostile checkpoint in the run directory', () => {
  it('a FIFO named checkpoint.bin is refused at once, not waited on', async () => {
    const file = fresh();
    fifos.plant(file);
    expect(await refusal(readCheckpoint(file))).toEqual({ code: 'VA_ERR_TRAIN', message: `${file} is a FIFO, not a regular file` });
  });

  it('a directory named checkpoint.bin is refused as not a regular file', async () => {
    const file = fresh();
    mkdirSync(file);
    expect(await refusal(readCheckpoint(file))).toEqual({ code: 'VA_ERR_TRAIN', message: `${file} is a directory, not a regular file` });
  });

  it('a huge sparse checkpoint.bin is refused from its size, without reading it', async () => {
    const file = fresh();
    // Beyond the most any checkpoint may be (and beyond what readFile could ever read).
    sparse(file, 8 * 1024 * MiB);
    expect(await refusal(readCheckpoint(file))).toEqual({ code: 'VA_ERR_TRAIN', message: `${file} is ${8 * 1024 * MiB} bytes, more than the ${MAX_CHECKPOINT_BYTES} allowed` });
    // Within that, but far beyond what this run's net can have written: refused without a byte read.
    const bound = checkpointBound(1_000_000);
    const big = fresh();
    sparse(big, 1024 * MiB);
    writeFileSync('/proc/self/clear_refs', '5');
    const base = peakRss();
    expect(await refusal(readCheckpoint(big, bound))).toEqual({ code: 'VA_ERR_TRAIN', message: `${big} is ${1024 * MiB} bytes, more than the ${bound} allowed` });
    expect(peakRss() - base).toBeLessThan(64 * MiB); // reading it took the whole GiB
  });

  it('a missing checkpoint is a fresh start, and one the run wrote reads back', async () => {
    const file = fresh();
    expect(await readCheckpoint(file)).toBeUndefined();
    const tensors = new Map([['net:w', new Float32Array([1, 2, 3])]]);
    await writeCheckpoint(file, { epoch: 2 }, tensors);
    const back = await readCheckpoint<{ epoch: number }>(file, checkpointBound(3));
    expect(back?.meta).toEqual({ epoch: 2 });
    expect([...back!.tensors.get('net:w')!]).toEqual([1, 2, 3]);
  });

  it('a checkpoint with bytes beyond what its header lists is corrupt, not silently accepted', async () => {
    const file = fresh();
    await writeCheckpoint(file, { epoch: 1 }, new Map([['net:w', new Float32Array([1])]]));
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.alloc(8)]));
    expect(await refusal(readCheckpoint(file))).toEqual({ code: 'VA_ERR_TRAIN', message: `${file}: corrupt checkpoint (8 bytes beyond the tensors its header lists)` });
  });
});
