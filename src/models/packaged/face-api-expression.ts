/**
 * face-api's FaceExpressionNet forward pass (`@vladmandic/face-api` src/faceFeatureExtractor and
 * src/faceProcessor): four dense blocks of depthwise-separable convolutions, a 7×7 average pool
 * and one fully connected layer. face-api ships only weights for it, so the graph is written out
 * here from the package's own source; the input is already normalised (see the manifest).
 */
import { tf, type Tensor, type Tensor2D, type Tensor4D } from '../tf.js';
import { SeedModelError } from '../seed/errors.js';

const BLOCKS = ['dense0', 'dense1', 'dense2', 'dense3'] as const;

export type FaceApiWeights = ReadonlyMap<string, Tensor>;

/** Names and shapes the network reads, so a foreign weights file fails at load, not at run. */
export function checkFaceApiWeights(w: FaceApiWeights, source: string): void {
  const missing: string[] = [];
  const need = (name: string, rank: number): void => {
    const t = w.get(name);
    if (t === undefined || t.rank !== rank) missing.push(`${name} (rank ${rank})`);
  };
  BLOCKS.forEach((b, bi) => {
    for (let c = 0; c < 4; c++) {
      if (bi === 0 && c === 0) need(`${b}/conv0/filters`, 4);
      else {
        need(`${b}/conv${c}/depthwise_filter`, 4);
        need(`${b}/conv${c}/pointwise_filter`, 4);
      }
      need(`${b}/conv${c}/bias`, 1);
    }
  });
  need('fc/weights', 2);
  need('fc/bias', 1);
  if (w.get('fc/weights')?.shape[1] !== 7 && missing.length === 0) missing.push('fc/weights with 7 outputs');
  if (missing.length > 0) throw new SeedModelError('VA_ERR_MODEL_WEIGHTS', `${source}: not a face-api face expression model: missing ${missing.join(', ')}`, { source, missing });
}

function get(w: FaceApiWeights, name: string): Tensor {
  const t = w.get(name);
  if (t === undefined) throw new Error(`unreachable: ${name} was checked at load`);
  return t;
}

function sepConv(w: FaceApiWeights, x: Tensor4D, prefix: string, stride: 1 | 2): Tensor4D {
  const out = tf.separableConv2d(x, get(w, `${prefix}/depthwise_filter`) as Tensor4D, get(w, `${prefix}/pointwise_filter`) as Tensor4D, stride, 'same');
  return tf.add(out, get(w, `${prefix}/bias`));
}

function denseBlock4(w: FaceApiWeights, x: Tensor4D, block: string, first: boolean): Tensor4D {
  const out1 = tf.relu(
    first ? tf.add(tf.conv2d(x, get(w, `${block}/conv0/filters`) as Tensor4D, 2, 'same'), get(w, `${block}/conv0/bias`)) : sepConv(w, x, `${block}/conv0`, 2),
  ) as Tensor4D;
  const out2 = sepConv(w, out1, `${block}/conv1`, 1);
  const in3 = tf.relu(tf.add(out1, out2)) as Tensor4D;
  const out3 = sepConv(w, in3, `${block}/conv2`, 1);
  const in4 = tf.relu(tf.add(out1, tf.add(out2, out3))) as Tensor4D;
  const out4 = sepConv(w, in4, `${block}/conv3`, 1);
  return tf.relu(tf.add(out1, tf.add(out2, tf.add(out3, out4)))) as Tensor4D;
}

/** [B, 112, 112, 3] normalised input → [B, 7] logits (face-api applies the softmax after this). */
export function faceApiExpressionLogits(w: FaceApiWeights, input: Tensor4D): Tensor2D {
  return tf.tidy(() => {
    let out = input;
    BLOCKS.forEach((b, i) => (out = denseBlock4(w, out, b, i === 0)));
    const pooled = tf.avgPool(out, [7, 7], [2, 2], 'valid');
    const flat = tf.reshape(pooled, [pooled.shape[0], -1]) as Tensor2D;
    return tf.add(tf.matMul(flat, get(w, 'fc/weights') as Tensor2D), get(w, 'fc/bias')) as Tensor2D;
  });
}
