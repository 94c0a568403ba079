/**
 * Where a model runs: the preference a user gives (`model.device`, `detector.device`, `--device`
 * beside the engine), what the host offers (gathered by `probeHost`, injected into the decision
 * so tests can describe any host), and the placement decided once per model.
 */
import type { EngineName } from '../inference-engine.js';

export const DEVICES = ['auto', 'cpu', 'gpu'] as const;
/** `auto`: a usable GPU when there is one, else the CPU; `gpu`: a GPU or a start-up error. */
export type DevicePreference = (typeof DEVICES)[number];

/** ONNX Runtime's CUDA execution provider on this host. */
export interface CudaProviderCapability {
  /** The binding was built with the provider (`listSupportedBackends` lists `cuda`). */
  readonly listed: boolean;
  /** Its provider library (downloaded only by `ONNXRUNTIME_NODE_INSTALL=cuda12`), when present. */
  readonly library: string | null;
  /** A session on CUDA was created (`ok`), refused (`failed`), or not attempted (no library). */
  readonly session: 'ok' | 'failed' | 'not-tried';
  /** Why the session failed. */
  readonly error?: string;
}

export interface OrtCapabilities {
  /** onnxruntime-node loads in this process. */
  readonly available: boolean;
  readonly version: string | null;
  /** Why it does not load. */
  readonly error?: string;
  /** The binding's execution providers (`bundled: false`: a library that the install script downloads). */
  readonly providers: readonly { readonly name: string; readonly bundled: boolean }[];
  readonly cuda: CudaProviderCapability;
}

export interface TfjsCapabilities {
  /** The TF.js backend that the model threads select (the same preference selects the same one). */
  readonly backend: string;
  /** Backends tried before it, and why each did not start. */
  readonly unavailable: readonly { readonly name: string; readonly reason: string }[];
  /** The `tensorflow` backend is tfjs-node-gpu's and reports a GPU device (`isUsingGpuDevice`). */
  readonly gpuDevice: boolean;
}

/** NVIDIA GPUs the kernel driver shows (names from /proc/driver/nvidia), whatever the engines can use. */
export interface GpuVisibility {
  readonly visible: boolean;
  readonly names: readonly string[];
  readonly source: string;
}

export interface HostCapabilities {
  readonly ort: OrtCapabilities;
  readonly tfjs: TfjsCapabilities;
  readonly gpus: GpuVisibility;
  /** The CPU's model name (empty when the OS does not say) and its cores. */
  readonly cpu: { readonly name: string; readonly cores: number };
}

/** Which engine runs a model, on which execution provider and device, and why. */
export interface Placement {
  /** `hybrid`: members of one ensemble ended on different engines (`auto` fell back for some). */
  readonly engine: EngineName | 'hybrid';
  /** ONNX Runtime's execution provider (`cpu`, `cuda`), or the TF.js backend (`tensorflow`, `wasm`, `cpu`). */
  readonly provider: string;
  readonly device: 'cpu' | 'gpu';
  readonly deviceName?: string;
  /** Intra-op threads per ONNX Runtime session (TF.js: the backend's own). */
  readonly threads: number;
  readonly reasons: readonly string[];
}

/** ONNX Runtime's execution providers for a placement (CPU after CUDA: nodes CUDA lacks run there). */
export function sessionProviders(p: Pick<Placement, 'provider'>): string[] {
  return p.provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
}
