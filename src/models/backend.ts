import { createRequire } from 'node:module';
import path from 'node:path';
import { tf } from './tf.js';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

export interface BackendInfo {
  readonly name: string;
  readonly requested: BackendPreference;
  /**
   * Backends tried before the chosen one. `notInstalled`: its optional package is absent, the
   * normal case on a machine without libtensorflow (not worth a warning); otherwise it is
   * installed and failed to start, which is.
   */
  readonly tried: readonly { readonly name: BackendName; readonly error: string; readonly notInstalled: boolean }[];
}

const require = createRequire(import.meta.url);
const PACKAGE_OF: Partial<Record<BackendName, string>> = { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' };
const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm'];

async function tryBackend(name: BackendName): Promise<void> {
  switch (name) {
    case 'tensorflow-gpu':
      // Registers the 'tensorflow' backend backed by CUDA libtensorflow.
      await import('@tensorflow/tfjs-node-gpu' as string);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node-gpu did not initialise');
      return;
    case 'tensorflow':
      await import('@tensorflow/tfjs-node' as string);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node did not initialise');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
      wasm.setWasmPaths(dir + path.sep);
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
      return;
    }
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not initialise');
      return;
    default:
      // A name from an unchecked list (bench flags) must not fall through to whatever backend is current.
      throw new Error(`unknown TF.js backend ${JSON.stringify(name)}`);
  }
}

/** The optional package itself is absent (not one of its own imports failing inside it). */
function isMissingPackage(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 'ERR_MODULE_NOT_FOUND' && typeof e.message === 'string' && /Cannot find package '@tensorflow\/tfjs-node(-gpu)?'/.test(e.message);
}

let active: Promise<BackendInfo> | undefined;
let activeRequest: BackendPreference | undefined;

/**
 * Selects the TF.js backend once per process (TF.js has one global engine, so this is process
 * state by nature, not by choice). Later calls with the same preference return the same info;
 * a different explicit preference switches the backend. Calls run one after another: TF.js
 * abandons an asynchronous initialisation (wasm) that another `setBackend` overtakes, so two
 * loaders of one thread asking at once would see the first fail.
 */
export async function selectBackend(requested: BackendPreference = 'auto'): Promise<BackendInfo> {
  if (active && (requested === 'auto' || requested === activeRequest)) return active;
  const previous = active;
  activeRequest = requested;
  const mine: Promise<BackendInfo> = (async () => {
    await previous?.catch(() => undefined);
    const order = requested === 'auto' ? AUTO_ORDER : [requested];
    const tried: { name: BackendName; error: string; notInstalled: boolean }[] = [];
    for (const name of order) {
      try {
        await tryBackend(name);
        await tf.ready();
        return { name: tf.getBackend(), requested, tried };
      } catch (err) {
        tried.push({ name, error: err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err), notInstalled: isMissingPackage(err) });
      }
    }
    const why = (t: (typeof tried)[number]): string =>
      t.notInstalled ? `${t.name}: ${PACKAGE_OF[t.name] ?? t.name} is not installed (an optional dependency; its install needs to fetch libtensorflow)` : `${t.name}: ${t.error}`;
    throw new Error(`no TF.js backend could start (${tried.map(why).join('; ')})`);
  })();
  active = mine;
  try {
    return await mine;
  } catch (err) {
    // Only the latest request is remembered; a failed one is forgotten so the next call tries again.
    if (active === mine) {
      active = undefined;
      activeRequest = undefined;
    }
    throw err;
  }
}

/** Tensors alive in this thread's TF.js engine (for metrics and leak checks outside src/models). */
export function tensorCount(): number {
  return tf.memory().numTensors;
}
