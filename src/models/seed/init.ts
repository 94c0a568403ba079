/**
 * Parameter initialiser for models trained here (the `compact` backbone, fresh heads) and for
 * random-weight benchmarks and tests. Conv: He-normal on fan-out (torchvision's ResNet init);
 * Linear: U(±1/√fan_in) for weight and bias (PyTorch's default); GRU: U(±1/√H) (PyTorch's
 * default); BN: γ = 1, β = 0, μ = 0, σ² = 1 unless random statistics are asked for.
 */
import { tf, type Tensor } from '../tf.js';
import { defaultDims, layerParams, seedLayers, type SeedArchitecture, type SeedDims, type SeedKind } from './architecture.js';
import type { SeedWeights } from './weights.js';

export interface InitOptions {
  readonly arch: SeedArchitecture;
  readonly kind: SeedKind;
  readonly dims?: SeedDims;
  /** Base seed; each parameter gets its own derived seed so results are reproducible. */
  readonly seed?: number;
  /**
   * 'identity': fresh-model BN (γ=1, β=0, μ=0, σ²=1). 'random': non-trivial statistics and
   * affine parameters (for testing BN folding); γ of the last BN of each residual branch is
   * kept small so deep random nets stay well-conditioned (see environment.md).
   */
  readonly bn?: 'identity' | 'random';
}

const LAST_BN_OF_BRANCH = /(_1x1_increase_bn|\.bn2)$/;

export function initSeedWeights(opts: InitOptions): SeedWeights {
  const dims = opts.dims ?? defaultDims(opts.arch);
  let seed = opts.seed ?? 1;
  const next = (): number => seed++;
  const weights = new Map<string, Tensor>();
  try {
    for (const layer of seedLayers(opts.kind, dims)) {
      for (const p of layerParams(layer)) {
        const shape = [...p.tfShape];
        const suffix = p.tf.slice(layer.tf.length + 1);
        let t: Tensor;
        switch (layer.kind) {
          case 'conv': {
            const fanOut = layer.outC * layer.k * layer.k;
            t = tf.randomNormal(shape, 0, Math.sqrt(2 / fanOut), 'float32', next());
            break;
          }
          case 'linear': {
            const bound = 1 / Math.sqrt(layer.inF);
            t = tf.randomUniform(shape, -bound, bound, 'float32', next());
            break;
          }
          case 'gru': {
            const bound = 1 / Math.sqrt(layer.hidden);
            t = tf.randomUniform(shape, -bound, bound, 'float32', next());
            break;
          }
          case 'bn': {
            if (opts.bn === 'random') {
              const small = LAST_BN_OF_BRANCH.test(layer.tf);
              if (suffix === 'gamma') t = tf.randomUniform(shape, small ? 0.05 : 0.5, small ? 0.15 : 1.5, 'float32', next());
              else if (suffix === 'beta' || suffix === 'moving_mean') t = tf.randomUniform(shape, -0.2, 0.2, 'float32', next());
              else t = tf.randomUniform(shape, 0.5, 2, 'float32', next());
            } else {
              t = suffix === 'gamma' || suffix === 'moving_variance' ? tf.ones(shape) : tf.zeros(shape);
            }
            break;
          }
        }
        weights.set(p.tf, t);
      }
    }
  } catch (err) {
    for (const t of weights.values()) t.dispose();
    throw err;
  }
  return { arch: opts.arch, kind: opts.kind, dims, weights };
}
