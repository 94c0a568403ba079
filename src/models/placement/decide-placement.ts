/**
 * The one placement decision per model: a pure function of the preference (engine, device) and
 * the host's capabilities, which are injected (probeHost gathers the real ones). `auto` prefers a
 * usable GPU — ONNX Runtime's CUDA provider, else tfjs-node-gpu with a GPU device — and otherwise
 * takes the fastest CPU engine (ONNX Runtime). `gpu` that cannot be honoured is an error naming
 * what is missing, never a quiet CPU run.
 */
import { AnalyticsError, ErrorCodes, ModelLoadError } from '../../core/errors.js';
import type { EngineName, EnginePreference } from '../inference-engine.js';
import type { DevicePreference, HostCapabilities, OrtCapabilities, Placement, TfjsCapabilities } from './placement.js';

export interface PlacementRequest {
  /** What is placed, for messages ("affect model", "face models"). */
  readonly model: string;
  readonly engine: EnginePreference;
  readonly device: DevicePreference;
  /** Intra-op threads per ONNX Runtime session. */
  readonly threads: number;
  /** The engines this model can run on (default both; a packaged classifier has no ONNX export). */
  readonly engines?: readonly ('onnx' | 'tfjs')[];
}

export const CUDA_INSTALL_HINT = 'install it with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci on a CUDA 12 + cuDNN 9 host (docs/gpu.md)';

/** Why ONNX Runtime cannot run on CUDA here, or null when it can. */
export function cudaMissing(ort: OrtCapabilities): string | null {
  if (!ort.available) return `ONNX Runtime does not load (${ort.error ?? 'unknown reason'})`;
  if (!ort.cuda.listed) return `onnxruntime-node ${ort.version ?? ''} was built without the CUDA execution provider`;
  if (ort.cuda.library === null) return `ONNX Runtime's CUDA execution provider library (libonnxruntime_providers_cuda.so) is not installed: ${CUDA_INSTALL_HINT}`;
  if (ort.cuda.session !== 'ok') return `a session on ONNX Runtime's CUDA execution provider could not be created (${ort.cuda.error ?? 'not attempted'}): CUDA 12 and cuDNN 9 must be on the library path`;
  return null;
}

/** Why TF.js cannot run on a GPU here, or null when it can. */
export function tfjsGpuMissing(tfjs: TfjsCapabilities): string | null {
  if (tfjs.gpuDevice) return null;
  const gpu = tfjs.unavailable.find((u) => u.name === 'tensorflow-gpu');
  if (gpu !== undefined) return `the TF.js backend tensorflow-gpu did not start (${gpu.reason})`;
  if (tfjs.backend === 'tensorflow') return 'the TF.js tensorflow backend reports no GPU device (tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1; tfjs-node is CPU only)';
  return `the TF.js backend in use is ${tfjs.backend}, which runs on the CPU (backend tensorflow-gpu needs @tensorflow/tfjs-node-gpu)`;
}

function unavailable(req: PlacementRequest, missing: readonly string[]): AnalyticsError {
  return new ModelLoadError(ErrorCodes.DEVICE_UNAVAILABLE, `${req.model}: device gpu cannot be honoured on this host: ${missing.join('; ')}`, { context: { missing } });
}

export function decidePlacement(req: PlacementRequest, caps: HostCapabilities): Placement {
  const engines = req.engines ?? ['onnx', 'tfjs'];
  const reasons: string[] = [];
  const onnxEngine: EngineName = req.engine === 'onnx-int8' ? 'onnx-int8' : 'onnx';
  const forcedOnnx = req.engine === 'onnx' || req.engine === 'onnx-int8';
  let mayOnnx = engines.includes('onnx') && req.engine !== 'tfjs';
  let mayTfjs = engines.includes('tfjs') && !forcedOnnx;
  if (forcedOnnx && !engines.includes('onnx')) {
    // A model kind without an ONNX export runs on TF.js under any engine preference.
    reasons.push(`engine ${req.engine}: this model has no ONNX export, it runs on TF.js`);
    mayOnnx = false;
    mayTfjs = true;
  }
  const gpuName = caps.gpus.names[0];
  const onGpu = (engine: EngineName, provider: string, why: string): Placement => ({
    engine,
    provider,
    device: 'gpu',
    ...(gpuName !== undefined ? { deviceName: gpuName } : {}),
    threads: engine === 'tfjs' ? 0 : req.threads,
    reasons: [...reasons, why],
  });

  if (req.device !== 'cpu') {
    const missing: string[] = [];
    if (mayOnnx) {
      const why = cudaMissing(caps.ort);
      if (why === null) return onGpu(onnxEngine, 'cuda', `device ${req.device}: ONNX Runtime ${caps.ort.version ?? ''} with the CUDA execution provider`);
      missing.push(why);
      reasons.push(`not ONNX Runtime on CUDA: ${why}`);
    }
    if (mayTfjs) {
      const why = tfjsGpuMissing(caps.tfjs);
      if (why === null) return onGpu('tfjs', caps.tfjs.backend, `device ${req.device}: TF.js on tfjs-node-gpu, which reports a GPU device`);
      missing.push(why);
    }
    if (req.device === 'gpu') throw unavailable(req, missing);
    if (mayTfjs) reasons.push(`not TF.js on a GPU: ${missing.at(-1) ?? ''}`);
  }

  const cpu = { device: 'cpu' as const, ...(caps.cpu.name !== '' ? { deviceName: caps.cpu.name } : {}) };
  if (mayOnnx && caps.ort.available) {
    return { engine: onnxEngine, provider: 'cpu', ...cpu, threads: req.threads, reasons: [...reasons, `device ${req.device}: ONNX Runtime ${caps.ort.version ?? ''} on the CPU${req.engine === 'auto' ? ' (the fastest CPU engine)' : ''}`] };
  }
  if (forcedOnnx && mayOnnx) {
    throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `${req.model}: engine ${req.engine} needs ONNX Runtime (onnxruntime-node), which does not load: ${caps.ort.error ?? 'unknown reason'}`);
  }
  if (mayOnnx) reasons.push(`ONNX Runtime does not load (${caps.ort.error ?? 'unknown reason'}): TF.js instead`);
  if (caps.tfjs.gpuDevice) {
    // tfjs-node-gpu puts every op on the GPU: this process has no CPU TF.js to offer beside it.
    throw new ModelLoadError(
      ErrorCodes.DEVICE_UNAVAILABLE,
      `${req.model}: device cpu cannot be honoured with TF.js here: its tensorflow backend is tfjs-node-gpu, which runs on the GPU (use engine onnx, backend wasm or tensorflow with tfjs-node, or hide the GPU with CUDA_VISIBLE_DEVICES=)`,
    );
  }
  return { engine: 'tfjs', provider: caps.tfjs.backend, ...cpu, threads: 0, reasons: [...reasons, `device ${req.device}: TF.js backend ${caps.tfjs.backend} on the CPU`] };
}

/**
 * The placement as loaded: under `auto` a member whose graph does not export falls back to TF.js
 * (the runner reports its engines), and TF.js runs on the backend its thread selected.
 */
export function placementAsLoaded(decided: Placement, loaded: { readonly engine: string; readonly backend: string; readonly fallback?: string | undefined }): Placement {
  if (loaded.engine === decided.engine && (decided.engine !== 'tfjs' || loaded.backend === decided.provider)) return decided;
  const reasons = [...decided.reasons, `as loaded: ${loaded.engine}${loaded.fallback !== undefined ? ` (${loaded.fallback})` : ''}`];
  if (loaded.engine === 'tfjs') return { ...decided, engine: 'tfjs', provider: loaded.backend, threads: 0, reasons };
  return { ...decided, engine: loaded.engine === 'hybrid' ? 'hybrid' : decided.engine, reasons };
}

/** The engine preference the loaders get: a decided GPU never falls back to another engine. */
export function loaderEngine(req: Pick<PlacementRequest, 'engine' | 'device'>, p: Placement): EnginePreference {
  if (p.engine === 'tfjs') return 'tfjs';
  if (req.engine === 'auto' && p.device === 'cpu') return 'auto';
  return p.engine === 'onnx-int8' ? 'onnx-int8' : 'onnx';
}
