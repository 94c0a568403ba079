/**
 * Throughput of one ensemble member with random full-width weights (speed does not depend on
 * the values). Measures whole CNN passes (backbone + heads) for `seconds`, then times the stages
 * separately: backbone, heads, and the GRU heads over one window of `seqLen` cached features.
 */
import { performance } from 'node:perf_hooks';
import { selectBackend, type BackendPreference } from '../../models/backend.js';
import { tf, type Tensor3D, type Tensor4D } from '../../models/tf.js';
import { TASKS } from '../../models/seed/constants.js';
import { initSeedWeights } from '../../models/seed/init.js';
import { SeedModel, disposeCnnOutput } from '../../models/seed/model.js';

export interface BenchOptions {
  readonly arch: 'resnet50' | 'compact';
  readonly batch: number;
  readonly seconds: number;
  readonly backend: BackendPreference;
  /** Fold BN into the convs (default true). */
  readonly fold?: boolean;
  readonly seqLen?: number;
}

export interface BenchResult {
  readonly backend: string;
  readonly arch: 'resnet50' | 'compact';
  readonly batch: number;
  readonly fold: boolean;
  readonly passes: number;
  readonly framesPerSecond: number;
  /** Mean milliseconds per batch of each stage (timed separately, after the throughput run). */
  readonly stageMs: { readonly backbone: number; readonly heads: number; readonly gruWindow: number };
  readonly seqLen: number;
}

function timeIt(reps: number, f: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t0) / reps;
}

export async function benchModel(opts: BenchOptions): Promise<BenchResult> {
  const info = await selectBackend(opts.backend);
  const arch = opts.arch === 'resnet50' ? 'resnet50-caffe' : 'compact';
  const fold = opts.fold ?? true;
  const seqLen = opts.seqLen ?? 32;
  const model = SeedModel.fromWeights(initSeedWeights({ arch, kind: 'cnn-rnn', seed: 1 }), { fold });
  const faces = tf.randomNormal([opts.batch, 112, 112, 3], 0, 40, 'float32', 2) as Tensor4D;
  try {
    const pass = (): void => {
      const out = model.cnnFeatures(faces);
      // Reading the results forces the backend to finish (wasm is synchronous anyway).
      out.logits.VA.dataSync();
      disposeCnnOutput(out);
    };
    pass();
    pass();
    let passes = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < opts.seconds * 1000 || passes < 2) {
      pass();
      passes++;
    }
    const elapsed = (performance.now() - t0) / 1000;

    const reps = Math.max(2, Math.min(10, passes));
    const backbone = timeIt(reps, () => tf.tidy(() => model.backbone(faces).dataSync()));
    const f = model.backbone(faces);
    const heads = timeIt(reps, () => {
      const o = model.heads(f);
      o.logits.VA.dataSync();
      disposeCnnOutput(o);
    });
    f.dispose();
    const window = tf.randomNormal([1, seqLen, model.dims.hidden], 0, 1, 'float32', 3) as Tensor3D;
    const gruWindow = timeIt(reps, () => {
      const g = model.gruHeads({ EXPR: window, AU: window, VA: window });
      g.VA.dataSync();
      tf.dispose(TASKS.map((t) => g[t]));
    });
    window.dispose();
    return {
      backend: info.name,
      arch: opts.arch,
      batch: opts.batch,
      fold,
      passes,
      framesPerSecond: (passes * opts.batch) / elapsed,
      stageMs: { backbone, heads, gruWindow },
      seqLen,
    };
  } finally {
    faces.dispose();
    model.dispose();
  }
}
