/**
 * Turns the seed's released PyTorch checkpoints (`pretrained_models/CNN/{0..4}.pth`,
 * `CNN_RNN/{0..4}.pth`, teacher files) into a self-describing model directory, recording each
 * source file's sha256. Every checkpoint is fully checked before anything is written.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { readTorchCheckpoint } from './checkpoint/read-torch-checkpoint.js';
import { CHECKPOINT_MAX_BYTES, readModelFile } from '../models/io/read-model-file.js';
import type { Tensor } from '../models/tf.js';
import { AU_THRESHOLDS, RELEASED_SEQ_LEN, type AuThresholdTable } from '../models/seed/constants.js';
import type { SeedDims } from '../models/seed/architecture.js';
import { ModelWeightsError, SeedModelError, type WeightProblem } from '../models/seed/errors.js';
import { MANIFEST_FORMAT_VERSION, parseManifest, seedInputSpec, seedTaskSpec, type MemberRole, type ModelManifest } from '../models/seed/manifest.js';
import { saveModelDir } from '../models/seed/model-dir.js';
import { disposeWeights } from '../models/seed/weights.js';
import { stateDictToWeights } from './state-dict-weights.js';

export interface ImportSeedOptions {
  readonly outDir: string;
  readonly kind: 'cnn' | 'cnn-rnn';
  readonly members: readonly { readonly name: string; readonly role: MemberRole; readonly file: string }[];
  readonly id: string;
  readonly version: string;
  /** Default: 'cnn' for kind cnn, 'cnnRnnSeq32' for cnn-rnn (spec §2.5). */
  readonly thresholds?: AuThresholdTable;
  /** Explicit per-AU thresholds (8 values); overrides `thresholds`. */
  readonly auThresholds?: readonly number[];
  readonly seqLen?: number;
  readonly source: string;
  readonly trainingData: readonly string[];
  readonly tool: string;
  readonly now?: Date;
  /** Recorded in the manifest: average the teacher with the students. */
  readonly ensembleWithTeacher?: boolean;
  /** Recorded in the manifest's provenance.metrics (e.g. the authors' reported scores). */
  readonly metrics?: Readonly<Record<string, number>>;
}

export async function importSeedCheckpoints(opts: ImportSeedOptions): Promise<ModelManifest> {
  const table = opts.thresholds ?? (opts.kind === 'cnn' ? 'cnn' : 'cnnRnnSeq32');
  const manifest = parseManifest({
    formatVersion: MANIFEST_FORMAT_VERSION,
    id: opts.id,
    version: opts.version,
    architecture: 'resnet50-caffe',
    kind: opts.kind,
    input: seedInputSpec(),
    tasks: seedTaskSpec(opts.auThresholds ?? AU_THRESHOLDS[table]),
    ...(opts.kind === 'cnn-rnn' ? { seqLen: opts.seqLen ?? RELEASED_SEQ_LEN } : {}),
    members: opts.members.map((m) => ({ name: m.name, role: m.role, weights: `${m.name}.json` })),
    ...(opts.ensembleWithTeacher === true ? { ensembleWithTeacher: true } : {}),
    provenance: {
      source: opts.source,
      importedFrom: [],
      trainingData: [...opts.trainingData],
      ...(opts.metrics !== undefined ? { metrics: { ...opts.metrics } } : {}),
      createdAt: (opts.now ?? new Date()).toISOString(),
      tool: opts.tool,
    },
  } satisfies ModelManifest);

  const weights = new Map<string, Map<string, Tensor>>();
  const importedFrom: { file: string; sha256: string }[] = [];
  const problems: WeightProblem[] = [];
  const badFiles: string[] = [];
  let first: { name: string; file: string; dims: SeedDims } | undefined;
  try {
    for (const m of opts.members) {
      const bytes = await readModelFile(m.file, CHECKPOINT_MAX_BYTES);
      importedFrom.push({ file: path.basename(m.file), sha256: createHash('sha256').update(bytes).digest('hex') });
      try {
        const sd = readTorchCheckpoint(bytes, { source: m.file });
        const w = stateDictToWeights(sd, { kind: opts.kind, arch: 'resnet50-caffe', source: m.file });
        weights.set(m.name, w.weights);
        // One ensemble, one architecture: members of different widths cannot share a manifest.
        if (first === undefined) first = { name: m.name, file: m.file, dims: w.dims };
        else if (describeDims(w.dims) !== describeDims(first.dims)) {
          throw new SeedModelError(
            'VA_ERR_MODEL_WEIGHTS',
            `${m.file}: member ${m.name} has different layer widths from member ${first.name} (${first.file}): ${describeDims(w.dims)} vs ${describeDims(first.dims)}`,
            { file: m.file, member: m.name },
          );
        }
      } catch (err) {
        if (!(err instanceof ModelWeightsError)) throw err;
        // A checkpoint of the other kind misses and adds hundreds of keys; the kind says it all.
        const kindProblems = err.problems.filter((p) => p.kind === 'model-kind');
        const own = kindProblems.length > 0 ? kindProblems : err.problems;
        problems.push(...own.map((p) => ({ ...p, name: `${m.name}: ${p.name}` })));
        badFiles.push(m.file);
      }
    }
    if (problems.length > 0) throw new ModelWeightsError(`importing ${badFiles.join(', ')}`, problems);
    const final = parseManifest({ ...manifest, provenance: { ...manifest.provenance, importedFrom } });
    await saveModelDir(opts.outDir, final, weights);
    return final;
  } finally {
    for (const w of weights.values()) disposeWeights(w);
  }
}

/** Layer widths of a member, for comparing members and for messages. */
export function describeDims(d: SeedDims): string {
  const b = d.backbone;
  const stages = b.arch === 'resnet50-caffe' ? b.dims.stages.map((s) => `${s.mid}/${s.out}`).join(' ') : b.dims.stages.join(' ');
  return `${b.arch} stem ${b.dims.stem}, stages ${stages}, head hidden ${d.hidden}, GRU hidden ${d.gruHidden}`;
}
