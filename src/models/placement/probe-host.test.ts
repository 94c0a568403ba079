import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend.js';
import { parseProbeOutput, tryCudaSession } from './cuda-session-probe.js';
import { decidePlacement } from './decide-placement.js';
import { probeGpus, probeHost, probeOrt } from './probe-host.js';

const ORT_VERSION = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('probeHost on this machine', () => {
  it("reads ONNX Runtime's real version and providers; the CUDA library is absent, so no session is tried", async () => {
    const ort = await probeOrt();
    expect(ort.available).toBe(true);
    expect(ort.version).toBe(ORT_VERSION);
    expect(ort.providers).toContainEqual({ name: 'cpu', bundled: true });
    expect(ort.providers).toContainEqual({ name: 'cuda', bundled: false });
    expect(ort.cuda).toEqual({ listed: true, library: null, session: 'not-tried' });
  });

  it('decides the CPU for auto, and refuses gpu, on what it found', async () => {
    const caps = await probeHost(await selectBackend('auto'));
    expect(caps.tfjs.gpuDevice).toBe(false);
    expect(caps.cpu.cores).toBeGreaterThan(0);
    expect(decidePlacement({ model: 'face models', engine: 'auto', device: 'auto', threads: 1 }, caps)).toMatchObject({ engine: 'onnx', provider: 'cpu', device: 'cpu' });
    expect(() => decidePlacement({ model: 'face models', engine: 'auto', device: 'gpu', threads: 1 }, caps)).toThrow(/VA_ERR_DEVICE_UNAVAILABLE|device gpu cannot be honoured/);
  });
});

describe('tryCudaSession', () => {
  it('a CUDA session attempt without the provider library fails in the child, naming the library; this process carries on', async () => {
    const r = await tryCudaSession();
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/Cuda|CUDA|shared library/);
    expect(process.exitCode ?? 0).toBe(0);
  });

  it('a child that dies without a result is reported with how it ended', () => {
    expect(parseProbeOutput('', 'the probe process ended on SIGABRT')).toEqual({ ok: false, error: 'the probe process ended on SIGABRT' });
    expect(parseProbeOutput('{"ok":true}', undefined)).toEqual({ ok: true });
    expect(parseProbeOutput('garbage', undefined)).toEqual({ ok: false, error: 'the probe printed no result' });
  });
});

describe('probeGpus', () => {
  it('names the GPUs the NVIDIA driver lists, and none without the driver', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'gpus-'));
    dirs.push(root);
    mkdirSync(path.join(root, '0000:01:00.0'));
    writeFileSync(path.join(root, '0000:01:00.0', 'information'), 'Model: \t\t NVIDIA L4\nIRQ: 42\n');
    mkdirSync(path.join(root, '0000:02:00.0'));
    expect(probeGpus(root)).toEqual({ visible: true, names: ['NVIDIA L4', 'GPU 0000:02:00.0'], source: root });
    expect(probeGpus(path.join(root, 'absent'))).toMatchObject({ visible: false, names: [] });
  });
});
