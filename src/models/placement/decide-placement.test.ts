import { describe, expect, it } from 'vitest';
import { AnalyticsError } from '../../core/errors.js';
import { decidePlacement, loaderEngine, placementAsLoaded, type PlacementRequest } from './decide-placement.js';
import type { HostCapabilities, OrtCapabilities, TfjsCapabilities } from './placement.js';
import { sessionProviders } from './placement.js';

const LIB = '/opt/ort/libonnxruntime_providers_cuda.so';

const ort = (cuda: Partial<OrtCapabilities['cuda']> = {}, o: Partial<OrtCapabilities> = {}): OrtCapabilities => ({
  available: true,
  version: '1.30.0',
  providers: [
    { name: 'cpu', bundled: true },
    { name: 'cuda', bundled: false },
  ],
  cuda: { listed: true, library: null, session: 'not-tried', ...cuda },
  ...o,
});
const NO_CUDA = ort();
const CUDA = ort({ library: LIB, session: 'ok' });
const CUDA_SESSION_FAILS = ort({ library: LIB, session: 'failed', error: 'CUDA failure 100: no CUDA-capable device is detected' });
const NO_ORT = ort({ listed: false }, { available: false, version: null, providers: [], error: "Cannot find package 'onnxruntime-node'" });

const WASM: TfjsCapabilities = { backend: 'wasm', gpuDevice: false, unavailable: [{ name: 'tensorflow-gpu', reason: '@tensorflow/tfjs-node-gpu is not installed' }] };
const TFJS_GPU: TfjsCapabilities = { backend: 'tensorflow', gpuDevice: true, unavailable: [] };
const TFJS_GPU_NO_DEVICE: TfjsCapabilities = { backend: 'tensorflow', gpuDevice: false, unavailable: [] };

function host(o: OrtCapabilities, t: TfjsCapabilities, gpu = false): HostCapabilities {
  return { ort: o, tfjs: t, gpus: { visible: gpu, names: gpu ? ['NVIDIA L4'] : [], source: '/proc/driver/nvidia/gpus' }, cpu: { name: 'Test CPU', cores: 2 } };
}

const req = (o: Partial<PlacementRequest> = {}): PlacementRequest => ({ model: 'affect model', engine: 'auto', device: 'auto', threads: 2, ...o });

function thrown(f: () => unknown): AnalyticsError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(AnalyticsError);
    return err as AnalyticsError;
  }
  throw new Error('expected an error');
}

describe('decidePlacement', () => {
  it('auto on a host without a usable GPU: ONNX Runtime on the CPU, saying why not the GPU', () => {
    const p = decidePlacement(req(), host(NO_CUDA, WASM));
    expect(p).toMatchObject({ engine: 'onnx', provider: 'cpu', device: 'cpu', deviceName: 'Test CPU', threads: 2 });
    expect(p.reasons.join('\n')).toMatch(/libonnxruntime_providers_cuda\.so\) is not installed/);
    expect(p.reasons.join('\n')).toMatch(/tensorflow-gpu did not start \(@tensorflow\/tfjs-node-gpu is not installed\)/);
    expect(p.reasons.at(-1)).toMatch(/ONNX Runtime 1\.30\.0 on the CPU \(the fastest CPU engine\)/);
    expect(sessionProviders(p)).toEqual(['cpu']);
    expect(loaderEngine(req(), p)).toBe('auto');
  });

  it('auto with the CUDA provider present and a session on it: ONNX Runtime on CUDA', () => {
    const p = decidePlacement(req(), host(CUDA, WASM, true));
    expect(p).toMatchObject({ engine: 'onnx', provider: 'cuda', device: 'gpu', deviceName: 'NVIDIA L4', threads: 2 });
    expect(sessionProviders(p)).toEqual(['cuda', 'cpu']);
    // A decided GPU must not fall back to another engine quietly.
    expect(loaderEngine(req(), p)).toBe('onnx');
  });

  it('auto with the CUDA library present but its session failing: tfjs-node-gpu when it has a device', () => {
    const p = decidePlacement(req(), host(CUDA_SESSION_FAILS, TFJS_GPU, true));
    expect(p).toMatchObject({ engine: 'tfjs', provider: 'tensorflow', device: 'gpu', deviceName: 'NVIDIA L4' });
    expect(p.reasons.join('\n')).toMatch(/CUDA execution provider could not be created \(CUDA failure 100/);
    expect(loaderEngine(req(), p)).toBe('tfjs');
  });

  it('auto with the CUDA session failing and tfjs-node-gpu without a device: the CPU', () => {
    const p = decidePlacement(req(), host(CUDA_SESSION_FAILS, TFJS_GPU_NO_DEVICE));
    expect(p).toMatchObject({ engine: 'onnx', provider: 'cpu', device: 'cpu' });
    expect(p.reasons.join('\n')).toMatch(/tensorflow backend reports no GPU device/);
  });

  it('auto without ONNX Runtime: TF.js on its GPU when tfjs-node-gpu has one, else on the CPU', () => {
    expect(decidePlacement(req(), host(NO_ORT, TFJS_GPU, true))).toMatchObject({ engine: 'tfjs', device: 'gpu', threads: 0 });
    const cpu = decidePlacement(req(), host(NO_ORT, WASM));
    expect(cpu).toMatchObject({ engine: 'tfjs', provider: 'wasm', device: 'cpu' });
    expect(cpu.reasons.join('\n')).toMatch(/ONNX Runtime does not load/);
  });

  it('gpu requested and impossible: an error naming every missing piece', () => {
    const e = thrown(() => decidePlacement(req({ device: 'gpu' }), host(NO_CUDA, WASM)));
    expect(e.code).toBe('VA_ERR_DEVICE_UNAVAILABLE');
    expect(e.message).toMatch(/^affect model: device gpu cannot be honoured on this host: /);
    expect(e.message).toMatch(/libonnxruntime_providers_cuda\.so\) is not installed: install it with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/);
    expect(e.message).toMatch(/tensorflow-gpu did not start/);
    const session = thrown(() => decidePlacement(req({ device: 'gpu', engine: 'onnx' }), host(CUDA_SESSION_FAILS, TFJS_GPU)));
    // engine onnx: tfjs-node-gpu's device does not count.
    expect(session.message).toMatch(/could not be created \(CUDA failure 100: no CUDA-capable device is detected\)/);
    expect(session.message).not.toMatch(/TF\.js/);
    const tfjs = thrown(() => decidePlacement(req({ device: 'gpu', engine: 'tfjs' }), host(CUDA, TFJS_GPU_NO_DEVICE)));
    expect(tfjs.message).toMatch(/tensorflow backend reports no GPU device \(tfjs-node-gpu needs CUDA 11\.2 and cuDNN 8\.1/);
    expect(thrown(() => decidePlacement(req({ device: 'gpu', model: 'face models' }), host(NO_ORT, WASM))).message).toMatch(/^face models: .*ONNX Runtime does not load/);
  });

  it('gpu requested and possible: CUDA first, tfjs-node-gpu for a model without an ONNX export', () => {
    expect(decidePlacement(req({ device: 'gpu' }), host(CUDA, TFJS_GPU, true))).toMatchObject({ engine: 'onnx', provider: 'cuda', device: 'gpu' });
    const packaged = decidePlacement(req({ device: 'gpu', engines: ['tfjs'] }), host(CUDA, TFJS_GPU, true));
    expect(packaged).toMatchObject({ engine: 'tfjs', provider: 'tensorflow', device: 'gpu' });
    expect(decidePlacement(req({ device: 'gpu', engine: 'onnx-int8' }), host(CUDA, WASM, true))).toMatchObject({ engine: 'onnx-int8', provider: 'cuda' });
  });

  it('cpu requested on a GPU host: ONNX Runtime on the CPU; TF.js on tfjs-node-gpu cannot honour it', () => {
    const p = decidePlacement(req({ device: 'cpu' }), host(CUDA, TFJS_GPU, true));
    expect(p).toMatchObject({ engine: 'onnx', provider: 'cpu', device: 'cpu' });
    expect(p.reasons).toEqual(['device cpu: ONNX Runtime 1.30.0 on the CPU (the fastest CPU engine)']);
    expect(sessionProviders(p)).toEqual(['cpu']);
    const e = thrown(() => decidePlacement(req({ device: 'cpu', engine: 'tfjs' }), host(CUDA, TFJS_GPU, true)));
    expect(e.code).toBe('VA_ERR_DEVICE_UNAVAILABLE');
    expect(e.message).toMatch(/tfjs-node-gpu, which runs on the GPU/);
  });

  it('a model without an ONNX export runs on TF.js under engine onnx, saying so', () => {
    const p = decidePlacement(req({ engine: 'onnx', engines: ['tfjs'] }), host(NO_CUDA, WASM));
    expect(p).toMatchObject({ engine: 'tfjs', provider: 'wasm', device: 'cpu' });
    expect(p.reasons[0]).toMatch(/no ONNX export/);
  });

  it('engine onnx without ONNX Runtime is a load error, as before', () => {
    const e = thrown(() => decidePlacement(req({ engine: 'onnx' }), host(NO_ORT, WASM)));
    expect(e.code).toBe('VA_ERR_MODEL_LOAD');
    expect(e.message).toMatch(/needs ONNX Runtime/);
  });
});

describe('placementAsLoaded', () => {
  const decided = decidePlacement(req(), host(NO_CUDA, WASM));
  it('keeps the decision when the loaded engines match it', () => {
    expect(placementAsLoaded(decided, { engine: 'onnx', backend: 'wasm' })).toBe(decided);
  });
  it('reports a fallback under auto: all TF.js, or hybrid', () => {
    const t = placementAsLoaded(decided, { engine: 'tfjs', backend: 'wasm', fallback: 'member m1: export failed' });
    expect(t).toMatchObject({ engine: 'tfjs', provider: 'wasm', device: 'cpu', threads: 0 });
    expect(t.reasons.at(-1)).toBe('as loaded: tfjs (member m1: export failed)');
    expect(placementAsLoaded(decided, { engine: 'hybrid', backend: 'wasm' })).toMatchObject({ engine: 'hybrid', provider: 'cpu' });
  });
});
