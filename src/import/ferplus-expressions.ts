/**
 * `resnet50_ferplus_dag.pth` (Albanie's conversion of the MatConvNet resnet50-ferplus) as an
 * expressions model: its backbone AND its own 8-class FER+ classifier, written as a packaged
 * expression model directory whose one member keeps its weights in the directory.
 *
 * Class order. The classifier's outputs are in FER+'s order, that of fer2013new.csv's vote
 * columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt. Albanie's own
 * code is the evidence: mcnCrossModalEmotions teacher/ferPlusZoo.m names the classes in that
 * order, ferplus_baselines.m trains on `votes(:, 1:8)` of the imdb built from that CSV, and
 * pytorch-benchmarks fer2013/fer_loader.py scores the converted model against the argmax of those
 * columns. It was not checked against the real weights (they cannot be downloaded here).
 *
 * Contempt is left out: the seed's EXPR vocabulary (Aff-Wild2's seven classes) has no contempt,
 * and putting its mass on another class would invent a mapping. The softmax over the other seven
 * logits is exactly FER+'s 8-way distribution renormalised without contempt, so the seven keep
 * the odds the network gives them.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tf, type Tensor } from '../models/tf.js';
import type { ExprLabel } from '../core/affect-labels.js';
import { EXPR_LABELS } from '../models/seed/constants.js';
import { ModelWeightsError } from '../models/seed/errors.js';
import { FERPLUS_CLASSIFIER_BIAS, FERPLUS_CLASSIFIER_KERNEL } from '../models/packaged/ferplus-net.js';
import { parsePackagedManifest, PACKAGED_ARCHITECTURE, type PackagedManifest } from '../models/packaged/manifest.js';
import { sha256Of } from '../models/packaged/package-files.js';
import { disposeWeights } from '../models/seed/weights.js';
import type { StateDict, TorchTensor } from './checkpoint/types.js';
import { FERPLUS_FILE, ferplusBackboneWeights } from './ferplus-backbone.js';

/** The classifier's outputs, in FER+'s order. */
export const FERPLUS_CLASSES = ['neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear', 'contempt'] as const;
export type FerplusClass = (typeof FERPLUS_CLASSES)[number];

/** Where each FER+ class goes in the seed's EXPR vocabulary; contempt goes nowhere (left out). */
export const FERPLUS_TO_SEED: Readonly<Record<FerplusClass, ExprLabel | null>> = {
  neutral: 'Neutral',
  happiness: 'Happiness',
  surprise: 'Surprise',
  sadness: 'Sadness',
  anger: 'Anger',
  disgust: 'Disgust',
  fear: 'Fear',
  contempt: null,
};

/** The rows of the classifier kept, in FER+ order (contempt's row dropped). */
const KEPT = FERPLUS_CLASSES.map((c, i) => [c, i] as const).filter(([c]) => FERPLUS_TO_SEED[c] !== null);

/** Albanie's `meta` of the converted model: imageSize [224, 224, 3], mean (RGB, 0–255), std [1, 1, 1]. */
export const FERPLUS_INPUT_SIZE = 224;
export const FERPLUS_MEAN_RGB = [131.0912, 103.8827, 91.4953] as const;

const WEIGHTS_JSON = 'ferplus_expressions.json';
const WEIGHTS_BIN = 'ferplus_expressions.bin';
const MEMBER = 'resnet50-ferplus';

export interface FerplusExpressionsOptions {
  readonly id: string;
  /** Where the file came from (URL, authors, licence), for the manifest's provenance. */
  readonly source: string;
  readonly trainingData: readonly string[];
  /** The source's reported figures, stored as `reported.<name>` (not measured here). */
  readonly reportedMetrics?: Readonly<Record<string, number>>;
  readonly now?: () => Date;
}

/**
 * Checks that `sd` holds the FER+ classifier as well as the backbone (refusing a backbone-only
 * file with a clear error), then writes the model directory into `out` (which must exist).
 */
export async function writeFerplusExpressionsDir(sd: StateDict, out: string, fileName: string, o: FerplusExpressionsOptions): Promise<void> {
  const missing = ['classifier.weight', 'classifier.bias'].filter((k) => !sd.has(k));
  if (missing.length > 0) {
    throw new ModelWeightsError(fileName, [
      {
        kind: 'model-kind',
        name: fileName,
        expected: `the FER+ ResNet-50 with its own 8-class FER+ classifier (${FERPLUS_FILE}: classifier.weight [8, 2048, 1, 1], classifier.bias [8])`,
        actual: `a file without ${missing.join(' and ')}: a backbone alone cannot classify expressions`,
      },
    ]);
  }
  // The backbone's keys and shapes, and the classifier's shapes [8, C5, 1, 1] / [8].
  const backbone = ferplusBackboneWeights(sd, fileName);
  const weights = new Map<string, Tensor>(backbone.weights);
  try {
    const cw = sd.get('classifier.weight');
    const cb = sd.get('classifier.bias');
    if (cw === undefined || cb === undefined) throw new Error('unreachable: classifier checked present');
    const both: [string, TorchTensor][] = [['classifier.weight', cw], ['classifier.bias', cb]];
    const notFloat = both.filter(([, t]) => !(t.data instanceof Float32Array));
    if (notFloat.length > 0) throw new ModelWeightsError(fileName, notFloat.map(([name, t]) => ({ kind: 'dtype' as const, name, dtype: t.dtype })));
    const feature = cw.shape[1] ?? 0;
    const kernel = new Float32Array(feature * KEPT.length);
    const bias = new Float32Array(KEPT.length);
    KEPT.forEach(([, row], j) => {
      for (let c = 0; c < feature; c++) kernel[c * KEPT.length + j] = Number(cw.data[row * feature + c]);
      bias[j] = Number(cb.data[row]);
    });
    weights.set(FERPLUS_CLASSIFIER_KERNEL, tf.tensor2d(kernel, [feature, KEPT.length]));
    weights.set(FERPLUS_CLASSIFIER_BIAS, tf.tensor1d(bias));
    const { data, specs } = await tf.io.encodeWeights(Object.fromEntries(weights));
    const bin = new Uint8Array(data);
    const json = Buffer.from(
      `${JSON.stringify({ format: 'ferplus-resnet50-weights', weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs.map((s) => ({ name: s.name, shape: s.shape, dtype: 'float32' })) }] }, null, 1)}\n`,
    );
    await writeFile(path.join(out, WEIGHTS_BIN), bin);
    await writeFile(path.join(out, WEIGHTS_JSON), json);
    const manifest = ferplusManifest(o, [
      { path: WEIGHTS_JSON, sha256: sha256Of(json) },
      { path: WEIGHTS_BIN, sha256: sha256Of(bin) },
    ]);
    await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  } finally {
    disposeWeights(weights);
  }
}

function ferplusManifest(o: FerplusExpressionsOptions, files: { path: string; sha256: string }[]): PackagedManifest {
  const labels = KEPT.map(([c]) => c);
  const labelMap = KEPT.map(([c]) => FERPLUS_TO_SEED[c] as ExprLabel);
  const metrics = Object.fromEntries(Object.entries(o.reportedMetrics ?? {}).map(([k, v]) => [`reported.${k}`, v]));
  const json = {
    formatVersion: 1,
    id: o.id,
    version: '1',
    architecture: PACKAGED_ARCHITECTURE,
    kind: 'cnn',
    // The default model's crop, so `daemon bench expressions` compares the classifiers on the same faces.
    crop: { kind: 'box', scale: 1.0 },
    cropSize: 112,
    tasks: { EXPR: { labels: [...EXPR_LABELS] } },
    members: [
      {
        name: MEMBER,
        role: 'teacher',
        format: 'ferplus-resnet50',
        weights: { manifest: WEIGHTS_JSON, files },
        // FER+ is greyscale; its training code and Albanie's loader repeat the grey channel three times.
        input: { size: FERPLUS_INPUT_SIZE, colour: 'grey-rgb', resize: 'pil-bilinear', mean: [...FERPLUS_MEAN_RGB], divisor: 1 },
        output: 'logits',
        labels,
        labelMap,
      },
    ],
    provenance: {
      source: o.source,
      trainingData: [...o.trainingData],
      ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
      notes: [
        `Classes: FER+'s order (fer2013new.csv's vote columns) ${FERPLUS_CLASSES.join(', ')}, as Albanie's code names and scores them (mcnCrossModalEmotions teacher/ferPlusZoo.m, ferplus_baselines.m; pytorch-benchmarks fer2013/fer_loader.py); not checked against the real weights here.`,
        'Contempt is left out: the seed has no such class; the softmax over the other seven logits equals the 8-way distribution renormalised without contempt.',
        `Preprocessing as Albanie's benchmark feeds the converted model (pytorch-benchmarks utils/benchmark_helpers.py compose_transforms, fer2013/fer.py center_crop=False): the face crop resized bilinear (PIL) to ${FERPLUS_INPUT_SIZE}×${FERPLUS_INPUT_SIZE}, 0–255 scale minus the RGB mean [${FERPLUS_MEAN_RGB.join(', ')}], std 1; the grey value in all three channels as FER+'s 48×48 greyscale faces reach it (ferplus_baselines.m normalizeFace, fer_loader.py np.repeat).`,
        'reported.* figures are the source\'s (FER+ accuracy of the MatConvNet resnet50-ferplus the file was converted from), not measured by this project; `daemon bench expressions` against the default model has not been run with the real weights.',
      ],
      createdAt: (o.now ?? (() => new Date()))().toISOString(),
      tool: 'daemon models pull (src/import/ferplus-expressions.ts)',
    },
  };
  return parsePackagedManifest(json, `${o.id}/manifest.json`);
}
