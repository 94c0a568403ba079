/**
 * The FER+ ResNet-50 (`resnet50_ferplus_dag.pth`, Albanie's MatConvNet conversion) the seed
 * initialises its CNN from (spec §1.1, §3). The file is a plain `state_dict` of the caffe
 * ResNet-50: the seed's backbone keys without their `backbone.model.` prefix, plus FER+'s own
 * classifier (a 1×1 conv, 8 classes), which the seed replaces by its heads and so is checked and
 * dropped here.
 */
import type { StateDict, TorchTensor } from './checkpoint/types.js';
import { ModelWeightsError, type WeightProblem } from '../models/seed/errors.js';
import type { SeedWeights } from '../models/seed/weights.js';
import { stateDictToWeights } from './state-dict-weights.js';

export const FERPLUS_FILE = 'resnet50_ferplus_dag.pth';
const FERPLUS_CLASSES = 8;

/** The backbone's weights (the caller owns them) and its feature width; heads are the caller's to make. */
export function ferplusBackboneWeights(sd: StateDict, source: string): SeedWeights {
  const problems: WeightProblem[] = [];
  const prefixed = new Map<string, TorchTensor>();
  for (const [key, t] of sd) {
    if (key === 'classifier.weight' || key === 'classifier.bias') continue;
    if (key.startsWith('backbone.') || key.startsWith('classifier.') || key.startsWith('module.')) {
      // A seed checkpoint (or a wrapped one) is not the FER+ file: say so rather than list 300 keys.
      throw new ModelWeightsError(source, [{ kind: 'model-kind', name: source, expected: `the FER+ backbone (${FERPLUS_FILE}: caffe ResNet-50 keys without a prefix)`, actual: `a file with key ${key}` }]);
    }
    prefixed.set(`backbone.model.${key}`, t);
  }
  const w = stateDictToWeights(prefixed, { kind: 'cnn', arch: 'resnet50-caffe', source, part: 'backbone' });
  const feature = w.dims.backbone.arch === 'resnet50-caffe' ? (w.dims.backbone.dims.stages.at(-1)?.out ?? 0) : 0;
  const cw = sd.get('classifier.weight');
  const cb = sd.get('classifier.bias');
  const wantW = [FERPLUS_CLASSES, feature, 1, 1];
  if (cw === undefined) problems.push({ kind: 'missing', name: 'classifier.weight', expected: wantW });
  else if (cw.shape.join() !== wantW.join()) problems.push({ kind: 'shape', name: 'classifier.weight', expected: wantW, actual: cw.shape });
  if (cb === undefined) problems.push({ kind: 'missing', name: 'classifier.bias', expected: [FERPLUS_CLASSES] });
  else if (cb.shape.join() !== String(FERPLUS_CLASSES)) problems.push({ kind: 'shape', name: 'classifier.bias', expected: [FERPLUS_CLASSES], actual: cb.shape });
  if (problems.length > 0) {
    for (const t of w.weights.values()) t.dispose();
    throw new ModelWeightsError(source, problems);
  }
  return w;
}
