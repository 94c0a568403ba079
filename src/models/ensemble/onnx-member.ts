import { TASKS } from '../seed/constants.js';
import type { SeedModel } from '../seed/model.js';
import type { PerTask } from '../seed/types.js';
import { exportCnn, exportGru } from '../onnx/export-member.js';
import { cachedGraph, weightsHash } from '../onnx/onnx-cache.js';
import { calibrationBatches, calibrationKey, type Int8Calibration } from '../onnx/int8-calibration.js';
import { exportCnnInt8 } from '../onnx/quantize.js';
import { createSession, type Ort, type OrtSession, type OrtSessionOptions } from '../onnx/ort.js';
import { INPUT_SIZE } from '../seed/constants.js';
import type { CnnArrays, MemberRunner } from './member-runner.js';

function perTask<T>(f: (t: (typeof TASKS)[number]) => T): PerTask<T> {
  return { EXPR: f('EXPR'), AU: f('AU'), VA: f('VA') };
}

export interface OnnxMemberSource {
  readonly model: SeedModel;
  /** Model directory and the member's weights manifest (for the cache key). */
  readonly dir: string;
  readonly weights: string;
  readonly name: string;
  readonly cacheDir?: string;
  /** Quantise the CNN to int8 (static QDQ) with ranges observed on these faces. */
  readonly int8?: Int8Calibration;
}

/**
 * A seed member on ONNX Runtime: its exported (cached) CNN and GRU graphs, one session each. With
 * `int8`, the CNN graph is the calibrated QDQ export, cached beside the fp32 one under the same
 * weights hash plus the calibration set's hash; the GRU heads stay fp32 (a few kFLOP per frame).
 */
export async function onnxMember(ort: Ort, src: OnnxMemberSource, opts: OrtSessionOptions): Promise<MemberRunner> {
  const key = await weightsHash(src.dir, src.weights);
  const base = `${src.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${key}`;
  const int8 = src.int8;
  const cnnGraph =
    int8 === undefined
      ? await cachedGraph(src.dir, `${base}-cnn.onnx`, () => exportCnn(src.model), src.cacheDir)
      : await cachedGraph(src.dir, `${base}-cnn-int8-${calibrationKey(int8)}.onnx`, () => exportCnnInt8(ort, src.model, calibrationBatches(int8)), src.cacheDir);
  const cnn = await createSession(ort, cnnGraph.bytes, opts);
  let gru: OrtSession | undefined;
  try {
    if (src.model.kind === 'cnn-rnn') gru = await createSession(ort, (await cachedGraph(src.dir, `${base}-gru.onnx`, () => exportGru(src.model), src.cacheDir)).bytes, opts);
  } catch (err) {
    await cnn.release();
    throw err;
  }
  const hidden = src.model.dims.hidden;
  const data = (r: Record<string, { data: unknown }>, name: string): Float32Array => {
    const v = r[name];
    if (v === undefined) throw new Error(`ONNX graph output ${name} missing`);
    return v.data as Float32Array;
  };
  let released: Promise<void> | undefined;
  return {
    engine: int8 === undefined ? 'onnx' : 'onnx-int8',
    hidden,
    async cnn(faces, batch): Promise<CnnArrays> {
      const out = await cnn.run({ faces: new ort.Tensor('float32', faces, [batch, INPUT_SIZE, INPUT_SIZE, 3]) });
      return { features: perTask((t) => data(out, `feature_${t}`)), logits: perTask((t) => data(out, `logits_${t}`)) };
    },
    async gru(features, batch, time) {
      if (!gru) throw new RangeError('gru() needs a cnn-rnn member');
      const feeds = Object.fromEntries(TASKS.map((t) => [`feature_${t}`, new ort.Tensor('float32', features[t], [batch, time, hidden])]));
      const out = await gru.run(feeds);
      return perTask((t) => data(out, `logits_${t}`));
    },
    close() {
      released ??= (async () => {
        await cnn.release();
        await gru?.release();
      })();
      return released;
    },
  };
}
