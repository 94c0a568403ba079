import { tf, type Tensor3D, type Tensor4D } from '../tf.js';
import { INPUT_SIZE, TASKS } from '../seed/constants.js';
import { disposeCnnOutput, type SeedModel } from '../seed/model.js';
import type { PerTask } from '../seed/types.js';
import type { CnnArrays, MemberRunner } from './member-runner.js';

function perTask<T>(f: (t: (typeof TASKS)[number]) => T): PerTask<T> {
  return { EXPR: f('EXPR'), AU: f('AU'), VA: f('VA') };
}

/** A seed member on TF.js (the model stays owned by its ensemble). */
export function tfjsMember(model: SeedModel): MemberRunner {
  const hidden = model.dims.hidden;
  return {
    engine: 'tfjs',
    hidden,
    async cnn(faces, batch): Promise<CnnArrays> {
      const input = tf.tensor4d(faces, [batch, INPUT_SIZE, INPUT_SIZE, 3]) as Tensor4D;
      try {
        const out = model.cnnFeatures(input);
        try {
          return { features: perTask((t) => out.features[t].dataSync<'float32'>()), logits: perTask((t) => out.logits[t].dataSync<'float32'>()) };
        } finally {
          disposeCnnOutput(out);
        }
      } finally {
        input.dispose();
      }
    },
    async gru(features, batch, time) {
      const out = tf.tidy(() => model.gruHeads(perTask((t) => tf.tensor3d(features[t], [batch, time, hidden]) as Tensor3D)));
      try {
        return perTask((t) => out[t].dataSync<'float32'>());
      } finally {
        tf.dispose(TASKS.map((t) => out[t]));
      }
    },
    async close() {
      // The ensemble owns the weights.
    },
  };
}
