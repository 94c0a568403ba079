/**
 * Hostile files in a model directory (and beside it): a FIFO where a weight file, a manifest, a
 * weights description, a `.pth`, a cached ONNX graph or a soft-label file should be, and sparse
 * files far larger than what the manifest declares. Each must be refused from `fstat` of the open
 * descriptor, with a clear error, promptly and without reading the bytes: a FIFO opened the plain
 * way blocks a pool thread in open() for good (the daemon then never listens, and cannot even exit
 * on SIGTERM), and a 2 GB weight file used to be read whole before its size was checked.
 */
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, ftruncateSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAffectModel } from '../../src/models/affect/open-affect-model.js';
import { fsIOHandler } from '../../src/models/io/fs-io-handler.js';
import { cachedGraph } from '../../src/models/onnx/onnx-cache.js';
import { readTfjsGraph } from '../../src/models/onnx/tfjs-weights.js';
import { PackagedRunner } from '../../src/models/packaged/packaged-runner.js';
import { importSeedCheckpoints } from '../../src/import/import-seed.js';
import { loadModelDir } from '../../src/models/seed/model-dir.js';
import { softLabelFile } from '../../src/train/align/align-videos.js';
import { ReportBuilder } from '../../src/train/data/read-report.js';
import { readSoftLabels } from '../../src/train/distill/unlabelled.js';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';
import { repoRoot } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';
import { PlantedFifos } from '../helpers/fifos.js';

const FIFO_MESSAGE = /a FIFO, not a regular file/;
/** Generous: a refusal from fstat takes milliseconds; reading 2 GB took 19 s. */
const FAST_MS = 5_000;
const MiB = 1024 * 1024;

let scratch: string;
let model: string;
const fifos = new PlantedFifos();
const children: SpawnedDaemon[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'va-model-files-'));
  model = await importTestModel('cnn');
}, 120_000);

afterEach(() => {
  fifos.release();
  for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(path.dirname(model), { recursive: true, force: true });
});

let seq = 0;
/** A fresh copy of the test model directory. */
function copyModel(): string {
  const dir = path.join(scratch, `m${seq++}`, 'cnn');
  cpSync(model, dir, { recursive: true });
  return dir;
}

function plantFifo(file: string): void {
  fifos.plant(file);
}

/** A sparse file of `bytes` (ftruncate: no disk is used). */
function plantSparse(file: string, bytes: number): void {
  rmSync(file, { force: true });
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** The promise's outcome, or a 'hung' marker when it has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    return await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error `p` rejects with, failing the test if it hangs past `ms` or resolves. */
async function refusal(p: Promise<unknown>, ms = 10_000): Promise<{ code: string; message: string; name: string }> {
  const r = await within(p, ms);
  if (r === 'hung') throw new Error(`still pending after ${ms} ms: the read blocked`);
  if (!('error' in r)) throw new Error('resolved: the hostile file was accepted');
  const e = r.error as { code?: string; message?: string; name?: string };
  return { code: String(e.code), message: String(e.message), name: String(e.name) };
}

/** Peak resident memory of this process (VmHWM), in bytes. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? 'NaN') * 1024;
}

/** Resets the peak to the current RSS (Linux clear_refs 5), so a later peak says what happened since. */
function resetPeakRss(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

/** How long `run` took and how far the peak RSS rose above the RSS when it began. */
async function measured<T>(run: () => Promise<T>): Promise<{ ms: number; rssGrowth: number }> {
  resetPeakRss();
  const base = peakRss();
  const t0 = performance.now();
  await run();
  return { ms: performance.now() - t0, rssGrowth: peakRss() - base };
}

describe('model directory files: opened without blocking, accepted only as regular files', () => {
  it('a FIFO as a weight .bin is refused by loadModelDir, naming the file and what it is', async () => {
    const dir = copyModel();
    plantFifo(path.join(dir, 'student_0.bin'));
    const e = await refusal(loadModelDir(dir));
    expect(e.code).toBe('VA_ERR_MODEL_FILES');
    expect(e.name).toBe('SeedModelError');
    expect(e.message).toContain('student_0.bin');
    expect(e.message).toMatch(FIFO_MESSAGE);
  });

  it('a FIFO as a member weights .json is refused by loadModelDir', async () => {
    const dir = copyModel();
    plantFifo(path.join(dir, 'student_1.json'));
    const e = await refusal(loadModelDir(dir));
    expect(e.code).toBe('VA_ERR_MODEL_FILES');
    expect(e.message).toContain('student_1.json');
    expect(e.message).toMatch(FIFO_MESSAGE);
  });

  it('a FIFO as manifest.json is refused by openAffectModel (the daemon and predict path)', async () => {
    const dir = copyModel();
    plantFifo(path.join(dir, 'manifest.json'));
    const e = await refusal(openAffectModel(dir, { placement: 'thread', backend: 'auto', engine: 'tfjs' }));
    expect(e.code).toBe('VA_ERR_MODEL_FILES');
    expect(e.message).toContain('manifest.json');
    expect(e.message).toMatch(FIFO_MESSAGE);
  });

  it('a FIFO as manifest.json is refused by PackagedRunner.fromDir', async () => {
    const dir = copyModel();
    plantFifo(path.join(dir, 'manifest.json'));
    const e = await refusal(PackagedRunner.fromDir(dir, { includeMembers: false }));
    expect(e.code).toBe('VA_ERR_MODEL_FILES');
    expect(e.message).toMatch(FIFO_MESSAGE);
  });

  it('a FIFO as a .pth given to import-seed is refused before anything is written', async () => {
    const pth = path.join(scratch, `fifo-${seq++}.pth`);
    plantFifo(pth);
    const out = path.join(scratch, `import-${seq++}`);
    const e = await refusal(
      importSeedCheckpoints({ outDir: out, kind: 'cnn', members: [{ name: 'student_0', role: 'student', file: pth }], id: 'x', version: '1', source: 'test', trainingData: [], tool: 'test' }),
    );
    expect(e.code).toBe('VA_ERR_MODEL_FILES');
    expect(e.message).toContain(pth);
    expect(e.message).toMatch(FIFO_MESSAGE);
  });

  it('a FIFO as a TF.js graph model.json or one of its shards is refused (readTfjsGraph, fsIOHandler)', async () => {
    const dir = path.join(scratch, `graph-${seq++}`);
    mkdirSync(dir);
    const json = path.join(dir, 'model.json');
    writeFileSync(json, JSON.stringify({ modelTopology: { node: [] }, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'a', shape: [2], dtype: 'float32' }] }] }));
    plantFifo(path.join(dir, 'w.bin'));
    const viaGraph = await refusal(readTfjsGraph(json));
    expect(viaGraph.code).toBe('VA_ERR_MODEL_FILES');
    expect(viaGraph.message).toMatch(FIFO_MESSAGE);
    const viaHandler = await refusal(fsIOHandler(json).load!());
    expect(viaHandler.code).toBe('VA_ERR_MODEL_FILES');
    expect(viaHandler.message).toMatch(FIFO_MESSAGE);
    plantFifo(json);
    const top = await refusal(readTfjsGraph(json));
    expect(top.message).toMatch(FIFO_MESSAGE);
  });
});

describe('model directory files: sizes checked from fstat before a byte is read', () => {
  it('a 2 GB sparse weight .bin (the manifest declares 42 KB) is refused fast, without reading it', async () => {
    const dir = copyModel();
    const declared = readFileSync(path.join(dir, 'student_0.bin')).byteLength;
    plantSparse(path.join(dir, 'student_0.bin'), 2_000_000_000);
    let e: Awaited<ReturnType<typeof refusal>> | undefined;
    const m = await measured(async () => {
      e = await refusal(loadModelDir(dir), 60_000);
    });
    expect(e?.code).toBe('VA_ERR_MODEL_FILES');
    expect(e?.message).toContain(`student_0.bin is 2000000000 bytes, the manifest declares ${declared}`);
    expect(m.ms).toBeLessThan(FAST_MS);
    expect(m.rssGrowth).toBeLessThan(100 * MiB);
  });

  it('a 2 GB sparse shard of a TF.js graph model is refused from its declared size', async () => {
    const dir = path.join(scratch, `graph-${seq++}`);
    mkdirSync(dir);
    const json = path.join(dir, 'model.json');
    writeFileSync(json, JSON.stringify({ modelTopology: { node: [] }, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'a', shape: [2], dtype: 'float32' }] }] }));
    plantSparse(path.join(dir, 'w.bin'), 2_000_000_000);
    let e: Awaited<ReturnType<typeof refusal>> | undefined;
    const m = await measured(async () => {
      e = await refusal(readTfjsGraph(json), 60_000);
    });
    expect(e?.code).toBe('VA_ERR_MODEL_FILES');
    expect(e?.message).toContain('the manifest declares 8');
    expect(m.ms).toBeLessThan(FAST_MS);
    expect(m.rssGrowth).toBeLessThan(100 * MiB);
  });

  it('a 300 MB sparse manifest.json is refused fast, without reading it', async () => {
    const dir = copyModel();
    plantSparse(path.join(dir, 'manifest.json'), 300 * MiB);
    let e: Awaited<ReturnType<typeof refusal>> | undefined;
    const m = await measured(async () => {
      e = await refusal(openAffectModel(dir, { placement: 'thread', backend: 'auto', engine: 'tfjs' }), 60_000);
    });
    expect(e?.code).toBe('VA_ERR_MODEL_FILES');
    expect(e?.message).toMatch(/manifest\.json: cannot read the model manifest: it is 314572800 bytes, more than the \d+ allowed/);
    expect(m.ms).toBeLessThan(FAST_MS);
    expect(m.rssGrowth).toBeLessThan(100 * MiB);
  });

  it('a 300 MB sparse member weights .json is refused fast, without reading it', async () => {
    const dir = copyModel();
    plantSparse(path.join(dir, 'student_0.json'), 300 * MiB);
    let e: Awaited<ReturnType<typeof refusal>> | undefined;
    const m = await measured(async () => {
      e = await refusal(loadModelDir(dir), 60_000);
    });
    expect(e?.code).toBe('VA_ERR_MODEL_FILES');
    expect(e?.message).toMatch(/student_0\.json is 314572800 bytes, more than the \d+ allowed/);
    expect(m.ms).toBeLessThan(FAST_MS);
    expect(m.rssGrowth).toBeLessThan(100 * MiB);
  });
});

describe('files beside a model directory', () => {
  it('a FIFO or a 2 GB sparse file planted as a cached ONNX graph is never read: the graph is built again over it', async () => {
    const dir = copyModel();
    mkdirSync(`${dir}.onnx`);
    const built = new Uint8Array([1, 2, 3]);
    plantFifo(path.join(`${dir}.onnx`, 'a.onnx'));
    const r1 = await within(cachedGraph(dir, 'a.onnx', () => built), 10_000);
    expect(r1).not.toBe('hung');
    expect(r1 !== 'hung' && 'value' in r1 ? r1.value.built : undefined).toBe(true);

    plantSparse(path.join(`${dir}.onnx`, 'b.onnx'), 2_000_000_000);
    let r2: Awaited<ReturnType<typeof cachedGraph>> | undefined;
    const m = await measured(async () => {
      r2 = await cachedGraph(dir, 'b.onnx', () => built);
    });
    expect(r2?.built).toBe(true);
    expect(r2?.bytes).toEqual(built);
    expect(m.ms).toBeLessThan(FAST_MS);
    expect(m.rssGrowth).toBeLessThan(100 * MiB);
  });

  it('a FIFO planted as a soft-label file of the distillation cache is an error, not a hang', async () => {
    const cache = path.join(scratch, `cache-${seq++}`);
    mkdirSync(cache);
    const file = softLabelFile(cache, 'clip', 'teacher-abc');
    plantFifo(file);
    const e = await refusal(readSoftLabels(cache, 'clip', 'teacher-abc', 1, ['clip'], new ReportBuilder('test')));
    expect(e.code).toBe('VA_ERR_TRAIN');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(FIFO_MESSAGE);
  });

  it('a soft-label file that is a symbolic link is refused, not followed', async () => {
    const cache = path.join(scratch, `cache-${seq++}`);
    mkdirSync(cache);
    const elsewhere = path.join(scratch, `elsewhere-${seq++}.jsonl`);
    writeFileSync(elsewhere, JSON.stringify({ folder: 'clip', frame: 1, p: [1, 0, 0, 0, 0, 0, 0] }) + '\n');
    const file = softLabelFile(cache, 'clip', 'teacher-abc');
    execFileSync('ln', ['-s', elsewhere, file]);
    const e = await refusal(readSoftLabels(cache, 'clip', 'teacher-abc', 1, ['clip'], new ReportBuilder('test')));
    expect(e.code).toBe('VA_ERR_TRAIN');
    expect(e.message).toMatch(/symbolic link/);
    unlinkSync(file);
  });
});

describe('the daemon with a FIFO in its model directory', () => {
  /** Everything the child printed. */
  const output = (d: SpawnedDaemon): string => `${d.stdout.join('\n')}\n${d.stderr.join('')}`;

  /** Whether some thread of `pid` is blocked in open() on a FIFO with no writer. */
  function parkedOnFifo(pid: number): boolean {
    try {
      return readdirSync(`/proc/${pid}/task`).some((t) => {
        try {
          return readFileSync(`/proc/${pid}/task/${t}/wchan`, 'utf8').trim() === 'wait_for_partner';
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  }

  async function exitWithin(d: SpawnedDaemon, ms: number): Promise<number | string | 'hung'> {
    const r = await within(d.exited, ms);
    return r === 'hung' ? 'hung' : 'value' in r ? r.value : 'hung';
  }

  it('daemon run --model DIR exits 1 with a clear message instead of never listening', async () => {
    const dir = copyModel();
    plantFifo(path.join(dir, 'student_0.bin'));
    const d = spawnDaemon(['run', '--model', dir, '--port', '0']);
    children.push(d);
    expect(await exitWithin(d, 90_000)).toBe(1);
    expect(output(d)).toMatch(FIFO_MESSAGE);
    const fatal = d.stdout.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; err?: { message?: string; code?: string; cause?: { message?: string } } }).find((l) => l.msg === 'daemon failed to start');
    // Said once, then its cause (the worker's own words) under err.cause: pino's default error
    // serializer appended every cause's message to one already quoting it ("X: X").
    const fifoRefusal = `${dir}: 1 file problem(s):\n  student_0: weight data: ${path.join(dir, 'student_0.bin')} is a FIFO, not a regular file`;
    // The worker's own words and code, as `daemon predict` on its thread reports them; the cause
    // says the model was loading in a worker.
    expect(fatal?.err?.message).toBe(fifoRefusal);
    expect(fatal?.err?.code).toBe('VA_ERR_MODEL_FILES');
    expect(fatal?.err?.cause?.message).toBe(`affect worker failed to load: ${fifoRefusal}`);
  }, 120_000);

  it('SIGTERM while the model loads ends the process', async () => {
    const dir = copyModel();
    plantFifo(path.join(dir, 'student_0.bin'));
    const d = spawnDaemon(['run', '--model', dir, '--port', '0']);
    children.push(d);
    // Signal once a thread of the daemon is parked opening the FIFO (the kernel's wait_for_partner),
    // so the signal lands on a stuck load, not before it. Fixed, no thread ever parks there: the
    // FIFO is refused and the daemon exits by itself, which also ends the wait.
    const deadline = Date.now() + 90_000;
    while (!parkedOnFifo(d.child.pid!) && d.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    d.child.kill('SIGTERM');
    const code = await exitWithin(d, 20_000);
    expect(code).not.toBe('hung');
  }, 120_000);

  it('daemon predict --model DIR exits with a clear message instead of hanging', async () => {
    const dir = copyModel();
    plantFifo(path.join(dir, 'student_0.bin'));
    const out = path.join(scratch, `predict-${seq++}.jsonl`);
    const d = spawnDaemon(['predict', '--model', dir, '--input', path.join(repoRoot, 'test', 'fixtures', 'media', 'single_face.mp4'), '--out', out]);
    children.push(d);
    const code = await exitWithin(d, 90_000);
    expect(code).not.toBe('hung');
    expect(code).not.toBe(0);
    expect(output(d)).toMatch(FIFO_MESSAGE);
  }, 120_000);
});
