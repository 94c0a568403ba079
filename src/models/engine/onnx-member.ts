import { TASKS } from '../seed/constants.js';
import type { SeedModel } from '../seed/model.js';
import type { PerTask } from '../seed/types.js';
import { exportCnn, exportGru } from '../onnx/export-member.js';
import { cachedGraph, weightsHash } from '../onnx/onnx-cache.js';
import { createSession, type Ort, type OrtSession, type OrtSessionOptions } from '../onnx/ort.js';
import { INPUT_SIZE } from '../seed/constants.js';
import type { CnnArrays, MemberEngine } from './member-engine.js';

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
}

/** A seed member on ONNX Runtime: its exported (cached) CNN and GRU graphs, one session each. */
export async function onnxMember(ort: Ort, src: OnnxMemberSource, opts: OrtSessionOptions): Promise<MemberEngine> {
  const key = await weightsHash(src.dir, src.weights);
  const base = `${src.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${key}`;
  const cnnGraph = await cachedGraph(src.dir, `${base}-cnn.onnx`, () => exportCnn(src.model), src.cacheDir);
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
    engine: 'onnx',
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
    dispose() {
      released ??= (async () => {
        await cnn.release();
        await gru?.release();
      })();
      return released;
    },
  };
}
