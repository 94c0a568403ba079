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
  /** Execution providers in order of preference (default {@link executionProviders}). */
  readonly providers?: readonly string[];
}

/**
 * The CUDA execution provider's library, where the install script put it (GPU hosts:
 * `ONNXRUNTIME_NODE_INSTALL=cuda12`), or null. The binding lists `cuda` on every Linux x64
 * build, so the file is what says whether the provider can load.
 */
export function cudaProviderLibrary(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const lib = path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
    return existsSync(lib) ? lib : null;
  } catch {
    return null;
  }
}

/** onnxruntime-node's version (its package.json), or null when it is not installed. */
export function ortVersion(): string | null {
  try {
    const pkg = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

/**
 * CUDA where its provider library was installed, CPU otherwise: for sessions no placement
 * decided (training, calibration); the daemon's, predict's and the benches' models pass the
 * providers of their placement.
 */
export function executionProviders(ort: Ort): string[] {
  const names = ort.listSupportedBackends().map((b) => b.name);
  return names.includes('cuda') && cudaProviderLibrary() !== null ? ['cuda', 'cpu'] : ['cpu'];
}

export async function createSession(ort: Ort, model: Uint8Array | string, opts: OrtSessionOptions): Promise<OrtSession> {
  return ort.InferenceSession.create(model as Uint8Array, {
    executionProviders: opts.providers !== undefined ? [...opts.providers] : executionProviders(ort),
    graphOptimizationLevel: opts.optimization ?? 'all',
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle intra-op threads sleep instead of spinning: the daemon shares its cores with decoding,
    // detection and the other members' sessions.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}
