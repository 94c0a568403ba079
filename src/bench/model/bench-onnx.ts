/**
 * ONNX Runtime side of `daemon bench model`: the same random-weight member as the TF.js bench
 * (speed does not depend on the values), exported by our exporter, timed on whole CNN passes and
 * on one GRU window.
 */
import { performance } from 'node:perf_hooks';
import { INPUT_SIZE } from '../../models/seed/constants.js';
import { initSeedWeights } from '../../models/seed/init.js';
import { SeedModel } from '../../models/seed/model.js';
import { exportCnn, exportGru } from '../../models/onnx/export-member.js';
import { createSession, executionProviders, loadOrt } from '../../models/onnx/ort.js';
import { compareCnn, exportCnnInt8, type Agreement } from '../../models/onnx/quantize.js';

export interface OnnxBenchOptions {
  readonly arch: 'resnet50' | 'compact';
  readonly batch: number;
  readonly seconds: number;
  /** Intra-op threads (0: one per core). */
  readonly threads: number;
  readonly seqLen?: number;
  /** `int8`: static QDQ quantisation calibrated on random faces, with its agreement with fp32. */
  readonly precision?: 'fp32' | 'int8';
  /** Execution providers of the sessions (a placement's; default: CUDA where installed, else the CPU). */
  readonly providers?: readonly string[];
}

export interface OnnxBenchResult {
  readonly engine: 'onnx';
  readonly precision: 'fp32' | 'int8';
  /** int8 only: agreement with the fp32 graph on a held-out random batch. */
  readonly agreement?: Agreement;
  readonly providers: readonly string[];
  readonly arch: 'resnet50' | 'compact';
  readonly batch: number;
  readonly threads: number;
  readonly passes: number;
  readonly framesPerSecond: number;
  readonly gruWindowMs: number;
  readonly seqLen: number;
  readonly exportMs: number;
}

function randomInput(n: number, seed: number): Float32Array {
  // A fixed LCG: reproducible without a tensor library.
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 80;
  }
  return out;
}

export async function benchOnnx(o: OnnxBenchOptions): Promise<OnnxBenchResult> {
  const ort = await loadOrt();
  const seqLen = o.seqLen ?? 32;
  const model = SeedModel.fromWeights(initSeedWeights({ arch: o.arch === 'resnet50' ? 'resnet50-caffe' : 'compact', kind: 'cnn-rnn', seed: 1 }), { fold: true });
  let cnnBytes: Uint8Array;
  let gruBytes: Uint8Array;
  let fp32Bytes: Uint8Array | undefined;
  const precision = o.precision ?? 'fp32';
  const size = INPUT_SIZE * INPUT_SIZE * 3;
  const t0 = performance.now();
  try {
    cnnBytes = exportCnn(model);
    if (precision === 'int8') {
      fp32Bytes = cnnBytes;
      const calib = [0, 1, 2, 3].map((k) => ({ faces: randomInput(o.batch * size, 100 + k), batch: o.batch }));
      cnnBytes = await exportCnnInt8(ort, model, calib);
    }
    gruBytes = exportGru(model);
  } finally {
    model.dispose();
  }
  const exportMs = performance.now() - t0;
  const hidden = model.dims.hidden;
  const cnn = await createSession(ort, cnnBytes, { threads: o.threads, ...(o.providers !== undefined ? { providers: o.providers } : {}) });
  let agreement: Agreement | undefined;
  if (fp32Bytes !== undefined) {
    const ref = await createSession(ort, fp32Bytes, { threads: o.threads, ...(o.providers !== undefined ? { providers: o.providers } : {}) });
    try {
      agreement = await compareCnn(ort, ref, cnn, { faces: randomInput(o.batch * size, 7), batch: o.batch });
    } finally {
      await ref.release();
    }
  }
  const gru = await createSession(ort, gruBytes, { threads: o.threads, ...(o.providers !== undefined ? { providers: o.providers } : {}) });
  try {
    const faces = new ort.Tensor('float32', randomInput(o.batch * INPUT_SIZE * INPUT_SIZE * 3, 2), [o.batch, INPUT_SIZE, INPUT_SIZE, 3]);
    await cnn.run({ faces });
    await cnn.run({ faces });
    let passes = 0;
    const start = performance.now();
    while (performance.now() - start < o.seconds * 1000 || passes < 2) {
      await cnn.run({ faces });
      passes++;
    }
    const elapsed = (performance.now() - start) / 1000;
    const f = new ort.Tensor('float32', randomInput(seqLen * hidden, 3), [1, seqLen, hidden]);
    const feeds = { feature_EXPR: f, feature_AU: f, feature_VA: f };
    await gru.run(feeds);
    const reps = 10;
    const g0 = performance.now();
    for (let i = 0; i < reps; i++) await gru.run(feeds);
    return {
      engine: 'onnx',
      precision,
      ...(agreement ? { agreement } : {}),
      providers: o.providers ?? executionProviders(ort),
      arch: o.arch,
      batch: o.batch,
      threads: o.threads,
      passes,
      framesPerSecond: (passes * o.batch) / elapsed,
      gruWindowMs: (performance.now() - g0) / reps,
      seqLen,
      exportMs,
    };
  } finally {
    await cnn.release();
    await gru.release();
  }
}
