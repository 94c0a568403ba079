/** The seed's weights as TF.js tensors (from a model directory, an imported checkpoint or fresh init). */
import type { Tensor } from '../tf.js';
import type { SeedArchitecture, SeedDims, SeedKind } from './architecture.js';

export interface SeedWeights {
  readonly arch: SeedArchitecture;
  readonly kind: SeedKind;
  readonly dims: SeedDims;
  /** Owned by the caller: dispose every tensor (or hand the map to a `SeedModel`). */
  readonly weights: Map<string, Tensor>;
}

export function disposeWeights(weights: ReadonlyMap<string, Tensor>): void {
  for (const t of weights.values()) t.dispose();
}
