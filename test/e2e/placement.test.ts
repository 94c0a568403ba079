// Where each model runs is decided once and shown three ways (the log, /readyz, the metric); a
// device the host cannot honour stops the start-up with what is missing, never a quiet CPU run.
import { afterEach, describe, expect, it } from 'vitest';
import { parseMetrics, waitUntil } from '../helpers/daemon.js';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';

let running: SpawnedDaemon | undefined;
afterEach(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGTERM');
    await running.exited;
  }
  running = undefined;
});

interface Shown {
  readonly engine: string;
  readonly provider: string;
  readonly device: string;
  readonly reasons: readonly string[];
}

describe('model placement', () => {
  it('the daemon with defaults reports the CPU placement of both models in the log, /readyz and va_model_placement_info', async () => {
    running = spawnDaemon(['run', '--port', '0'], { DAEMON_TOKEN: '' });
    const port = await running.port();
    let body: { ready?: boolean; details?: { backend: string; placements: Record<string, Shown> } } = {};
    await waitUntil(async () => {
      body = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as typeof body;
      return body.ready === true;
    }, 120_000, '/readyz ready');
    const placements = body.details!.placements;
    expect(placements['face-detector']).toMatchObject({ engine: 'onnx', provider: 'cpu', device: 'cpu' });
    // The default model is a packaged (TF.js-only) classifier: TF.js, on the backend in use.
    expect(placements.affect).toMatchObject({ engine: 'tfjs', provider: body.details!.backend, device: 'cpu' });
    expect(placements['face-detector']!.reasons.join('\n')).toMatch(/ONNX Runtime [\d.]+ on the CPU/);

    const logged = running.stdout.filter((l) => l.includes('"msg":"model placement"')).map((l) => JSON.parse(l) as { model: string } & Shown);
    expect(logged.map((l) => [l.model, l.engine, l.provider, l.device])).toEqual([
      ['face-detector', 'onnx', 'cpu', 'cpu'],
      ['affect', 'tfjs', body.details!.backend, 'cpu'],
    ]);
    expect(logged[0]!.reasons.join('\n')).toMatch(/libonnxruntime_providers_cuda\.so\) is not installed/);

    const metrics = parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(metrics.get('va_model_placement_info{model="face-detector",engine="onnx",provider="cpu",device="cpu"}')).toBe(1);
    expect(metrics.get(`va_model_placement_info{model="affect",engine="tfjs",provider="${body.details!.backend}",device="cpu"}`)).toBe(1);
  });

  it('--device gpu on a host without a usable GPU: exit 1, naming what is missing, and no models run', async () => {
    running = spawnDaemon(['run', '--port', '0', '--device', 'gpu'], { DAEMON_TOKEN: '' });
    expect(await running.exited).toBe(1);
    const out = running.stdout.join('\n');
    expect(out).toMatch(/"code":"VA_ERR_DEVICE_UNAVAILABLE"/);
    expect(out).toMatch(/face models: device gpu cannot be honoured on this host: .*libonnxruntime_providers_cuda\.so\) is not installed: install it with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/);
    expect(out).toMatch(/tensorflow-gpu did not start/);
    expect(out).not.toMatch(/"msg":"listening"|"msg":"model placement"/);
  });

  it('bench model --device: a gpu row that cannot run is unavailable with what is missing; cpu runs on the CPU provider', async () => {
    // Exit 1 when no row could run (the bench's rule), the JSON report printed all the same.
    const run = async (device: string, code: number): Promise<{ available: boolean; providers?: string[]; error?: string }[]> => {
      const d = spawnDaemon(['bench', 'model', '--arch', 'compact', '--batch', '2', '--seconds', '1', '--engine', 'onnx', '--device', device, '--json']);
      const closed = new Promise((r) => d.child.once('close', r));
      expect(await d.exited).toBe(code);
      await closed;
      return JSON.parse(d.stdout.join('\n')) as { available: boolean; providers?: string[]; error?: string }[];
    };
    const [gpu, cpu] = await Promise.all([run('gpu', 1), run('cpu', 0)]);
    expect(gpu[0]).toMatchObject({ available: false });
    expect(gpu[0]!.error).toMatch(/^bench model \(onnx\): device gpu cannot be honoured on this host: .*libonnxruntime_providers_cuda\.so\) is not installed/);
    expect(cpu[0]).toMatchObject({ available: true, providers: ['cpu'] });
  });
});

describe('bench faces --device', () => {
  it('gpu on a host without one: each engine is reported unavailable with what is missing, nothing is benchmarked, exit 1', async () => {
    const d = spawnDaemon(['bench', 'faces', '--engine', 'onnx,tfjs', '--device', 'gpu', '--json']);
    const closed = new Promise((r) => d.child.once('close', r));
    expect(await d.exited).toBe(1);
    await closed;
    const report = JSON.parse(d.stdout.join('\n')) as { device: string; results: unknown[]; unavailable: { engine: string; available: boolean; reason: string }[] };
    expect(report.device).toBe('gpu');
    expect(report.results).toEqual([]);
    expect(report.unavailable.map((u) => [u.engine, u.available])).toEqual([
      ['onnx', false],
      ['tfjs', false],
    ]);
    expect(report.unavailable[0]!.reason).toMatch(/^face models \(onnx\): device gpu cannot be honoured on this host: .*libonnxruntime_providers_cuda\.so\) is not installed/);
    expect(report.unavailable[1]!.reason).toMatch(/^face models \(tfjs\): device gpu cannot be honoured on this host: .*tensorflow-gpu/);
  });
});
