// `daemon doctor` on this machine: its JSON names the real versions and the CPU placement the
// daemon's own start-up decides (test/e2e/placement.test.ts checks the daemon says the same).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getFFmpegInfo } from 'node-av/lib';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDaemon } from '../helpers/spawn-daemon.js';

const ORT_VERSION = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
const dir = mkdtempSync(path.join(tmpdir(), 'doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function doctor(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const d = spawnDaemon(['doctor', ...args], { DAEMON_TOKEN: '' });
  const closed = new Promise((r) => d.child.once('close', r));
  const code = await d.exited;
  await closed;
  return { code, stdout: d.stdout.join('\n'), stderr: d.stderr.join('') };
}

describe('daemon doctor', () => {
  it('--json names the real versions, the providers, no GPU, and the CPU placement of each configured model', async () => {
    const r = await doctor(['--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      node: string;
      ffmpeg: { ffmpeg: string; nodeAv: string; hwDeviceTypes: string[] };
      onnxRuntime: { version: string; providers: { name: string }[]; cuda: { library: string | null } };
      tfjs: { selected: string; backends: { name: string; loads: boolean; reason?: string }[] };
      gpus: { visible: boolean };
      placements: Record<string, { engine: string; provider: string; device: string; reasons: string[] }>;
      config: { listen: { port: number }; modelDir: string };
    };
    expect(j.node).toBe(process.version);
    expect(j.ffmpeg.ffmpeg).toBe(getFFmpegInfo().version);
    expect(j.ffmpeg.nodeAv).toMatch(/^\d+\.\d+\.\d+/);
    expect(j.onnxRuntime.version).toBe(ORT_VERSION);
    expect(j.onnxRuntime.providers.map((p) => p.name)).toContain('cpu');
    expect(j.tfjs.backends.find((b) => b.name === 'cpu')).toEqual({ name: 'cpu', loads: true });
    expect(j.placements['face-detector']).toMatchObject({ engine: 'onnx', provider: 'cpu', device: 'cpu' });
    expect(j.placements.affect).toMatchObject({ engine: 'tfjs', provider: j.tfjs.selected, device: 'cpu' });
    expect(j.config.listen.port).toBe(8080);
    expect(j.config.modelDir).toMatch(/config\/models\/default-expressions$/);
  });

  it('a config asking for gpu: the report says why it cannot be placed (exit 0), and the human text says the same', async () => {
    const cfg = path.join(dir, 'gpu.yaml');
    writeFileSync(cfg, 'model:\n  dir: null\ndetector:\n  device: gpu\nserver:\n  port: 9123\n');
    const [json, text] = await Promise.all([doctor(['--json', '-c', cfg]), doctor(['-c', cfg])]);
    expect(json.code, json.stderr).toBe(0);
    const j = JSON.parse(json.stdout) as { placements: { 'face-detector': { error: { code: string; message: string } }; affect: string }; config: { listen: { port: number } } };
    expect(j.placements['face-detector'].error.code).toBe('VA_ERR_DEVICE_UNAVAILABLE');
    expect(j.placements['face-detector'].error.message).toMatch(/libonnxruntime_providers_cuda\.so\) is not installed/);
    expect(j.placements.affect).toBe('none configured');
    expect(j.config.listen.port).toBe(9123);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/face models {2}cannot be placed: \[VA_ERR_DEVICE_UNAVAILABLE\]/);
    expect(text.stdout).toMatch(/ONNX Runtime {3}\d+\.\d+\.\d+/);
  });

  it('an invalid config: exit 2 with the problem, nothing on stdout', async () => {
    const r = await doctor(['-c', path.join(dir, 'absent.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid configuration:\n {2}- .*absent\.yaml: ENOENT/);
    expect(r.stdout).toBe('');
  });
});
