/**
 * TF.js's Node bundle (`tf-core.node.js`) ships no gradient definitions: they live only in the
 * package's ES-module tree (`dist/gradients/*.js`), whose relative imports have no file
 * extensions and so cannot be loaded by Node as they are. A resolver hook (registered from a
 * data: URL, so it works from source under vitest and from `dist/`) adds the `.js` for imports
 * inside tfjs-core's `dist/` only, then the stock `register_all_gradients` runs. The gradient
 * registry and the engine are process globals, so the ES-module copy registers into the same
 * engine the rest of the code uses.
 */
import { register } from 'node:module';
import { tf } from '../../models/tf.js';

const HOOK = `
export async function resolve(specifier, context, next) {
  if ((specifier.startsWith('./') || specifier.startsWith('../')) && !/\\.[cm]?js$/.test(specifier)
      && context.parentURL !== undefined && context.parentURL.includes('/@tensorflow/tfjs-core/dist/')) {
    try { return await next(specifier + '.js', context); } catch { return await next(specifier + '/index.js', context); }
  }
  return next(specifier, context);
}`;

let loading: Promise<void> | undefined;

/** Registers every TF.js gradient once per process (≈ 1.5 s the first time). */
export function registerGradients(): Promise<void> {
  if (tf.getGradient('Conv2D') !== undefined) return Promise.resolve();
  loading ??= (async () => {
    register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
    const spec = '@tensorflow/tfjs-core/dist/register_all_gradients.js';
    await import(spec);
    if (tf.getGradient('Conv2D') === undefined) throw new Error('TF.js gradients did not register');
  })();
  return loading;
}

interface TapeState {
  activeTape: { saved?: tf.Tensor[] }[] | null;
  gradientDepth: number;
}

/**
 * TF.js's `gradients()` keeps the tensors its tape saves for the backward and frees them only
 * when the backward runs; a forward that throws leaves them (and the tape) behind. Call after
 * such a throw: frees what an abandoned outermost tape saved.
 */
export function disposeAbandonedTape(): void {
  const state = tf.engine().state as unknown as TapeState;
  if (state.gradientDepth !== 0 || state.activeTape === null) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}
