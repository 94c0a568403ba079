/**
 * `init: { from: ferplus }`: the seed's starting point (spec §3): the FER+ ResNet-50 backbone,
 * fresh heads. Each student is re-initialised from it too (spec §3.3), so this runs per member.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readTorchCheckpoint } from '../../import/checkpoint/read-torch-checkpoint.js';
import { CHECKPOINT_MAX_BYTES, readModelFile } from '../../models/io/read-model-file.js';
import { FERPLUS_FILE, ferplusBackboneWeights } from '../../import/ferplus-backbone.js';
import { initSeedWeights } from '../../models/seed/init.js';
import { disposeWeights, type SeedWeights } from '../../models/seed/weights.js';
import { defaultStoreDir, ModelStore } from '../../import/store/model-store.js';
import { TrainError } from '../errors.js';

/** The checkpoint file a `file` setting names: a file, a directory holding it, or a store name. */
export async function ferplusFile(ref: string, store = new ModelStore(defaultStoreDir())): Promise<string> {
  let target = ref;
  if (!path.isAbsolute(ref)) {
    if (!(await store.has(ref))) throw new TrainError(`init.file: the model store (${store.dir}) has no ${ref}: run \`daemon models pull ferplus-resnet50\`, or give the path of ${FERPLUS_FILE}`);
    target = store.modelDir(ref);
  }
  const s = await stat(target).catch(() => undefined);
  if (s === undefined) throw new TrainError(`init.file: ${target} does not exist`);
  return s.isDirectory() ? path.join(target, FERPLUS_FILE) : target;
}

export async function ferplusInit(ref: string, seed: number, store?: ModelStore): Promise<SeedWeights> {
  const file = await ferplusFile(ref, store);
  const sd = readTorchCheckpoint(await readModelFile(file, CHECKPOINT_MAX_BYTES), { source: file });
  const backbone = ferplusBackboneWeights(sd, file);
  let fresh: SeedWeights;
  try {
    fresh = initSeedWeights({ arch: backbone.arch, kind: 'cnn', dims: backbone.dims, seed, bn: 'identity' });
  } catch (err) {
    disposeWeights(backbone.weights);
    throw err;
  }
  for (const [name, t] of fresh.weights) {
    if (name.startsWith('backbone/')) t.dispose();
    else backbone.weights.set(name, t);
  }
  return backbone;
}
