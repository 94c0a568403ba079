/**
 * `daemon train --config train.yaml`: the schema (documented in config/train.example.yaml), CLI
 * overrides, validation with every problem listed (ConfigError → exit 2, as the daemon's config).
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

const task = z.enum(['EXPR', 'AU', 'VA']);
const dir = z.string().min(1);

/*
 * Upper bounds far beyond any real run (the seed: 8 + 3 epochs, batch 20, seqLen 32, 5 students)
 * but below what would run for years or allocate without end: a typo (1e9 for 1e-9) is a config
 * error, not a hang.
 */
const MAX_EPOCHS = 1000;
const MAX_STUDENTS = 64;
const MAX_BATCH = 1024;
const MAX_SEQ_LEN = 1024;
const epochs = z.int().positive().max(MAX_EPOCHS);
const lossWeight = z.number().min(0).max(1000);
/**
 * A train config is a few hundred bytes. The bound also bounds the YAML parser, which recurses
 * per nesting level: 500 000 '[' (1 MB) exhaust V8's memory fatally, while anything this small
 * fails at once with a caught stack overflow.
 */
export const MAX_TRAIN_CONFIG_BYTES = 64 << 10;

const affWild2Source = z.strictObject({
  kind: z.literal('aff-wild2'),
  /** Directory holding AU_Set/, EXPR_Set/, VA_Set/. */
  annotations: dir,
  /** The organisers' cropped_aligned directory (one folder per video). */
  images: dir,
  imageExt: z.string().regex(/^\.[A-Za-z0-9]+$/).default('.jpg'),
  tasks: z.array(task).min(1).default(['EXPR', 'AU', 'VA']),
});

const presetSource = z.strictObject({
  kind: z.literal('preset'),
  /** Mixed_AU (Aff-Wild2 + DISFA), Mixed_EXPR (undersampled Aff-Wild2 + ExpW), Mixed_VA (Aff-Wild2 ×5 + AFEW-VA), Aff-Wild2 (spec §4.1). */
  name: z.enum(['Mixed_AU', 'Mixed_EXPR', 'Mixed_VA', 'Aff-Wild2']),
  affWild2: z.strictObject({ annotations: dir, images: dir, imageExt: z.string().regex(/^\.[A-Za-z0-9]+$/).optional() }),
  disfa: z.strictObject({ labels: dir, images: dir }).optional(),
  expw: z.strictObject({ root: dir, cacheDir: dir }).optional(),
  afewVa: z.strictObject({ root: dir, cacheDir: dir }).optional(),
  /** For Aff-Wild2 (all three tasks) a subset; the Mixed presets have one task each. */
  tasks: z.array(task).min(1).optional(),
});

const manifestSource = z.strictObject({
  kind: z.literal('manifest'),
  /** JSON lines {image, au?, expr?, va?, video?, frame?}: your own labelled faces (training). */
  train: dir,
  /** The same format for validation (optional: without it every epoch is kept by training loss). */
  val: dir.optional(),
});

const unlabelledSource = z.strictObject({
  kind: z.literal('unlabelled'),
  /** Videos, stills, or directories of them; faces found, aligned and tracked by the daemon's own stages. */
  inputs: z.array(dir).min(1),
  /** Held-out media of the same kinds: validation is agreement with the teacher on their faces. */
  val: z.array(dir).default([]),
  /** Where aligned crops and the teacher's soft labels are kept (resumable, shared by the CNN and CNN-RNN runs). */
  cache: dir,
  /** kind cnn: keep every n-th frame of each track (consecutive frames are near duplicates); cnn-rnn uses every frame. */
  every: z.int().positive().max(100_000).default(1),
});

export const dataSourceSchema = z.discriminatedUnion('kind', [affWild2Source, presetSource, manifestSource, unlabelledSource]);

export const trainConfigSchema = z
  .strictObject({
    /** Model directory to write (manifest.json + members). */
    out: dir,
    /** Checkpoints, the JSON-lines log and finished members (default `<out>.run`). */
    runDir: dir.optional(),
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ -').default('trained'),
    seed: z.int().min(0).default(1),
    backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /** Who takes the CNN phases' gradients: auto (TF.js on native TensorFlow, else ONNX Runtime), tfjs, onnx. */
    engine: z.enum(['auto', 'tfjs', 'onnx']).default('auto'),
    kind: z.enum(['cnn', 'cnn-rnn']).default('cnn'),
    arch: z.enum(['compact', 'resnet50-caffe']).default('compact'),
    /** Width multiplier of the compact backbone (1 = ResNet-18 widths). */
    width: z.number().positive().max(4).default(1),
    init: z
      .discriminatedUnion('from', [
        z.strictObject({ from: z.literal('random') }),
        z.strictObject({ from: z.literal('model-dir'), dir, member: z.string().optional(), heads: z.enum(['fresh', 'keep']).default('fresh') }),
        z.strictObject({ from: z.literal('ferplus'), file: dir.default('ferplus-resnet50') }),
      ])
      .default({ from: 'random' }),
    /** cnn-rnn: the trained CNN model directory to import and freeze. */
    cnn: z.strictObject({ dir, member: z.string().optional() }).optional(),
    teacher: z
      .discriminatedUnion('from', [
        z.strictObject({ from: z.literal('train'), epochs: epochs.default(8) }),
        z.strictObject({ from: z.literal('model-dir'), dir, member: z.string().optional() }),
      ])
      .default({ from: 'train', epochs: 8 }),
    students: z.strictObject({ count: z.int().min(0).max(MAX_STUDENTS).default(5), epochs: epochs.default(3) }).default({ count: 5, epochs: 3 }),
    ensembleWithTeacher: z.boolean().default(false),
    /** Faces (CNN) or sequences (CNN-RNN) per task batch. */
    batch: z.int().min(2).max(MAX_BATCH).default(20),
    seqLen: z.int().min(2).max(MAX_SEQ_LEN).default(32),
    optimizer: z
      .strictObject({ lr: z.number().positive().max(1).default(1e-4), beta1: z.number().min(0).lt(1).default(0.5), beta2: z.number().min(0).lt(1).default(0.999), eps: z.number().positive().max(1).default(1e-8) })
      .default({ lr: 1e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 }),
    /** step: StepLR actually stepped each epoch; constant: the original (built, never stepped). */
    lrSchedule: z
      .discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('step'), stepEpochs: epochs.default(3), gamma: z.number().positive().max(1).default(0.1) }),
        z.strictObject({ kind: z.literal('constant') }),
      ])
      .default({ kind: 'step', stepEpochs: 3, gamma: 0.1 }),
    loss: z
      .strictObject({
        EXPR: lossWeight.default(1),
        AU: lossWeight.default(8),
        V: lossWeight.default(1),
        A: lossWeight.default(1),
        ccc: lossWeight.default(1),
        lambdaTeacher: z.number().min(0).max(1).default(0.4),
        temperature: z.number().min(0.01).max(100).default(1.5),
      })
      .default({ EXPR: 1, AU: 8, V: 1, A: 1, ccc: 1, lambdaTeacher: 0.4, temperature: 1.5 }),
    /** cnn-rnn: freeze the CNN's BN too (false = the original's train-mode BN and dropout, spec §9.1.3). */
    frozenBn: z.boolean().default(true),
    /** per-image: random crop + flip per image (the seed's intent); fixed: one draw for the run (the original); none. */
    augmentation: z.enum(['per-image', 'fixed', 'none']).default('per-image'),
    checkpoint: z.strictObject({ everySteps: z.int().min(0).default(200) }).default({ everySteps: 200 }),
    data: z.strictObject({ sources: z.array(dataSourceSchema).min(1) }),
    /** Balancing samplers of the CNN stage (spec §4.2, the seed's --force_balance); none = shuffle. */
    balance: z
      .strictObject({
        AU: z.enum(['ml-ros-seed', 'ml-ros-textbook', 'none']).default('ml-ros-seed'),
        EXPR: z.enum(['inverse-frequency', 'none']).default('inverse-frequency'),
        VA: z.enum(['histogram', 'none']).default('histogram'),
      })
      .default({ AU: 'ml-ros-seed', EXPR: 'inverse-frequency', VA: 'histogram' }),
  })
  .superRefine((c, ctx) => {
    if (c.kind === 'cnn-rnn' && c.cnn === undefined) ctx.addIssue({ code: 'custom', path: ['cnn'], message: 'required for kind cnn-rnn (the CNN model directory to freeze)' });
    if (c.kind === 'cnn' && c.cnn !== undefined) ctx.addIssue({ code: 'custom', path: ['cnn'], message: 'only for kind cnn-rnn' });
    if (c.arch !== 'compact' && c.width !== 1) ctx.addIssue({ code: 'custom', path: ['width'], message: 'only the compact backbone has a width' });
    if (c.teacher.from === 'model-dir' && c.students.count === 0) ctx.addIssue({ code: 'custom', path: ['students', 'count'], message: 'with an existing teacher there is nothing to train unless students > 0' });
    const unlabelled = c.data.sources.filter((s) => s.kind === 'unlabelled').length;
    if (unlabelled > 0 && c.teacher.from !== 'model-dir') {
      ctx.addIssue({ code: 'custom', path: ['teacher', 'from'], message: 'unlabelled data needs teacher.from: model-dir (the teacher labels the faces)' });
    }
    if (unlabelled > 0 && unlabelled < c.data.sources.length) {
      ctx.addIssue({ code: 'custom', path: ['data', 'sources'], message: 'unlabelled sources cannot be mixed with labelled ones in one run (distil on the unlabelled faces, or train on the labelled ones)' });
    }
  });

export type TrainConfig = z.infer<typeof trainConfigSchema>;

export interface TrainOverrides {
  readonly epochs?: number;
  readonly batch?: number;
  readonly students?: number;
  readonly arch?: string;
  readonly width?: number;
  readonly out?: string;
  readonly seed?: number;
  readonly backend?: string;
  readonly engine?: string;
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

/** A bare model name (`ferplus-resnet50`) stays a name for the model store; anything else is a path. */
function storeNameOr(ref: string, r: (p: string) => string): string {
  return /^[a-z0-9][a-z0-9._-]*$/.test(ref) && !ref.includes('.pth') ? ref : r(ref);
}

/** Relative paths in the file are relative to the file's directory. */
function resolvePaths(c: TrainConfig, base: string): TrainConfig {
  const r = (p: string): string => path.resolve(base, p);
  return {
    ...c,
    out: r(c.out),
    ...(c.runDir !== undefined ? { runDir: r(c.runDir) } : {}),
    init: c.init.from === 'model-dir' ? { ...c.init, dir: r(c.init.dir) } : c.init.from === 'ferplus' ? { ...c.init, file: storeNameOr(c.init.file, r) } : c.init,
    ...(c.cnn !== undefined ? { cnn: { ...c.cnn, dir: r(c.cnn.dir) } } : {}),
    teacher: c.teacher.from === 'model-dir' ? { ...c.teacher, dir: r(c.teacher.dir) } : c.teacher,
    data: {
      sources: c.data.sources.map((s) => {
        if (s.kind === 'aff-wild2') return { ...s, annotations: r(s.annotations), images: r(s.images) };
        if (s.kind === 'manifest') return { ...s, train: r(s.train), ...(s.val !== undefined ? { val: r(s.val) } : {}) };
        if (s.kind === 'unlabelled') return { ...s, inputs: s.inputs.map(r), val: s.val.map(r), cache: r(s.cache) };
        return {
          ...s,
          affWild2: { ...s.affWild2, annotations: r(s.affWild2.annotations), images: r(s.affWild2.images) },
          ...(s.disfa !== undefined ? { disfa: { labels: r(s.disfa.labels), images: r(s.disfa.images) } } : {}),
          ...(s.expw !== undefined ? { expw: { root: r(s.expw.root), cacheDir: r(s.expw.cacheDir) } } : {}),
          ...(s.afewVa !== undefined ? { afewVa: { root: r(s.afewVa.root), cacheDir: r(s.afewVa.cacheDir) } } : {}),
        };
      }),
    },
  };
}

/** Every path of a resolved config, with its key. */
function configPaths(c: TrainConfig): [string, string][] {
  const out: [string, string][] = [['out', c.out]];
  if (c.runDir !== undefined) out.push(['runDir', c.runDir]);
  if (c.init.from === 'model-dir') out.push(['init.dir', c.init.dir]);
  if (c.init.from === 'ferplus' && path.isAbsolute(c.init.file)) out.push(['init.file', c.init.file]);
  if (c.cnn !== undefined) out.push(['cnn.dir', c.cnn.dir]);
  if (c.teacher.from === 'model-dir') out.push(['teacher.dir', c.teacher.dir]);
  c.data.sources.forEach((s, i) => {
    const k = `data.sources.${i}`;
    if (s.kind === 'aff-wild2') out.push([`${k}.annotations`, s.annotations], [`${k}.images`, s.images]);
    else if (s.kind === 'manifest') out.push([`${k}.train`, s.train], ...(s.val !== undefined ? [[`${k}.val`, s.val] as [string, string]] : []));
    else if (s.kind === 'unlabelled') out.push(...s.inputs.map((p, j): [string, string] => [`${k}.inputs.${j}`, p]), ...s.val.map((p, j): [string, string] => [`${k}.val.${j}`, p]), [`${k}.cache`, s.cache]);
    else {
      out.push([`${k}.affWild2.annotations`, s.affWild2.annotations], [`${k}.affWild2.images`, s.affWild2.images]);
      if (s.disfa !== undefined) out.push([`${k}.disfa.labels`, s.disfa.labels], [`${k}.disfa.images`, s.disfa.images]);
      if (s.expw !== undefined) out.push([`${k}.expw.root`, s.expw.root], [`${k}.expw.cacheDir`, s.expw.cacheDir]);
      if (s.afewVa !== undefined) out.push([`${k}.afewVa.root`, s.afewVa.root], [`${k}.afewVa.cacheDir`, s.afewVa.cacheDir]);
    }
  });
  return out;
}

/** Devices and kernel interfaces: reading /dev/zero never ends, writing into /proc or /sys is never data. */
const KERNEL_ROOTS = ['/dev', '/proc', '/sys'];
/** A tmpfs of ordinary files (a RAM disk for a run directory). */
const ORDINARY_UNDER_DEV = '/dev/shm';

const under = (p: string, root: string): boolean => p === root || p.startsWith(`${root}/`);

/** The real path of `p`, or of its longest existing ancestor with the rest appended (links followed). */
function realOrNearest(p: string): string {
  const rest: string[] = [];
  for (let cur = p; ; ) {
    try {
      return path.join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return p;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

function kernelPathProblems(c: TrainConfig): string[] {
  return configPaths(c).flatMap(([key, p]) => {
    const real = realOrNearest(p);
    const bad = KERNEL_ROOTS.some((r) => under(real, r) || under(p, r)) && !(under(real, ORDINARY_UNDER_DEV) && under(p, ORDINARY_UNDER_DEV));
    return bad ? [`${key}: ${p}${real !== p ? ` (→ ${real})` : ''} is a device or kernel path, not a file or directory of data`] : [];
  });
}

export function parseTrainConfig(raw: unknown, o: TrainOverrides = {}, base = process.cwd()): TrainConfig {
  const c: Json = { ...obj(raw) };
  if (o.out !== undefined) c['out'] = path.resolve(o.out);
  if (o.batch !== undefined) c['batch'] = o.batch;
  if (o.arch !== undefined) c['arch'] = o.arch;
  if (o.width !== undefined) c['width'] = o.width;
  if (o.seed !== undefined) c['seed'] = o.seed;
  if (o.backend !== undefined) c['backend'] = o.backend;
  if (o.engine !== undefined) c['engine'] = o.engine;
  if (o.students !== undefined) c['students'] = { ...obj(c['students']), count: o.students };
  if (o.epochs !== undefined) {
    c['students'] = { ...obj(c['students']), epochs: o.epochs };
    const t = obj(c['teacher']);
    if (t['from'] === undefined || t['from'] === 'train') c['teacher'] = { ...t, from: 'train', epochs: o.epochs };
  }
  const r = trainConfigSchema.safeParse(c);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`));
  const resolved = resolvePaths(r.data, base);
  const problems = kernelPathProblems(resolved);
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}

/**
 * The config file's text: opened without blocking (a FIFO would wait for a writer), and read only
 * when it is a regular file of at most MAX_TRAIN_CONFIG_BYTES (/dev/zero would never end).
 */
function readConfigText(file: string): string {
  const fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_TRAIN_CONFIG_BYTES) throw new Error(`${st.size} bytes, over the ${MAX_TRAIN_CONFIG_BYTES >> 10} KiB limit for a train config`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

export function loadTrainConfig(file: string, o: TrainOverrides = {}): TrainConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readConfigText(file));
  } catch (err) {
    throw new ConfigError([`${file}: ${err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)}`]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([`${file}: the top level must be a mapping`]);
  return parseTrainConfig(raw, o, path.dirname(path.resolve(file)));
}
