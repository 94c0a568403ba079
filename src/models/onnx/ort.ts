/**
 * ONNX Runtime, loaded on demand: `onnxruntime-node` is an optional dependency (its install
 * script fetches CUDA parts and is skipped here; the CPU binaries ship inside the package).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ErrorCodes, ModelLoadError } from '../../core/errors.js';

export type Ort = typeof import('onnxruntime-node');
export type OrtSession = import('onnxruntime-node').InferenceSession;

let loading: Promise<Ort> | undefined;

/** Rejects with ModelLoadError (VA_ERR_MODEL_LOAD) when the package or its binary cannot load. */
export function loadOrt(): Promise<Ort> {
  loading ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort,
    (err: unknown) => {
      loading = undefined;
      throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `ONNX Runtime (onnxruntime-node) is not available: ${(err as Error).message}`, { cause: err });
    },
  );
  return loading;
}

export interface OrtSessionOptions {
  /** Intra-op threads per session (0: ONNX Runtime's default, one per core). */
  readonly threads: number;
  /** Graph optimisation level (default 'all'). */
  readonly optimization?: 'extended' | 'all';
}

/**
 * CUDA where its provider library was installed (GPU hosts: `onnxruntime-node-install=cuda12`),
 * CPU otherwise. The binding lists `cuda` on every Linux x64 build, so the library is checked.
 */
export function executionProviders(ort: Ort): string[] {
  const names = ort.listSupportedBackends().map((b) => b.name);
  if (!names.includes('cuda')) return ['cpu'];
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const lib = path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
    return existsSync(lib) ? ['cuda', 'cpu'] : ['cpu'];
  } catch {
    return ['cpu'];
  }
}

export async function createSession(ort: Ort, model: Uint8Array | string, opts: OrtSessionOptions): Promise<OrtSession> {
  return ort.InferenceSession.create(model as Uint8Array, {
    executionProviders: executionProviders(ort),
    graphOptimizationLevel: opts.optimization ?? 'all',
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle intra-op threads sleep instead of spinning: the daemon shares its cores with decoding,
    // detection and the other members' sessions.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}
