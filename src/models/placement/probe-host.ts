/**
 * What this host offers the models, gathered for real: ONNX Runtime's version and execution
 * providers (and whether a CUDA session can be created), the TF.js backend the model threads
 * select and whether it reports a GPU device, and the GPUs the NVIDIA driver shows.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import type { BackendInfo } from '../backend.js';
import { cudaProviderLibrary, loadOrt, ortVersion } from '../onnx/ort.js';
import { tf } from '../tf.js';
import { tryCudaSession } from './cuda-session-probe.js';
import type { GpuVisibility, HostCapabilities, OrtCapabilities, TfjsCapabilities } from './placement.js';

export async function probeOrt(): Promise<OrtCapabilities> {
  const version = ortVersion();
  let providers: { name: string; bundled: boolean }[];
  try {
    const ort = await loadOrt();
    providers = ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
  } catch (err) {
    return { available: false, version, error: (err as Error).message, providers: [], cuda: { listed: false, library: null, session: 'not-tried' } };
  }
  const listed = providers.some((p) => p.name === 'cuda');
  const library = listed ? cudaProviderLibrary() : null;
  if (library === null) return { available: true, version, providers, cuda: { listed, library, session: 'not-tried' } };
  const session = await tryCudaSession();
  return { available: true, version, providers, cuda: { listed, library, session: session.ok ? 'ok' : 'failed', ...(session.error !== undefined ? { error: session.error } : {}) } };
}

/** The selected backend's GPU device, read from tfjs-node's backend (`isUsingGpuDevice`). */
export function probeTfjs(info: BackendInfo): TfjsCapabilities {
  const backend = info.name === 'tensorflow' ? (tf.findBackend('tensorflow') as { isUsingGpuDevice?: unknown } | null) : null;
  return {
    backend: info.name,
    unavailable: info.tried.map((t) => ({ name: t.name, reason: t.notInstalled ? `${t.name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'} is not installed` : t.error })),
    gpuDevice: backend?.isUsingGpuDevice === true,
  };
}

/** NVIDIA GPUs from /proc/driver/nvidia/gpus/<bus>/information ("Model: …"); none without the driver. */
export function probeGpus(root = '/proc/driver/nvidia/gpus'): GpuVisibility {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return { visible: false, names: [], source: `${root} (absent: no NVIDIA driver)` };
  }
  const names = entries.map((e) => {
    try {
      const model = /^Model:\s*(.+)$/m.exec(readFileSync(path.join(root, e, 'information'), 'utf8'))?.[1]?.trim();
      return model ?? `GPU ${e}`;
    } catch {
      return `GPU ${e}`;
    }
  });
  return { visible: names.length > 0, names, source: root };
}

export async function probeHost(backend: BackendInfo): Promise<HostCapabilities> {
  const list = cpus();
  return { ort: await probeOrt(), tfjs: probeTfjs(backend), gpus: probeGpus(), cpu: { name: list[0]?.model.trim() ?? '', cores: list.length } };
}
