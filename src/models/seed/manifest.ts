/**
 * `manifest.json` of a self-describing model directory: what the weights are, how to feed them,
 * how to decode them, and where they came from. Validated once at load; every problem is named.
 */
import { z } from 'zod';
import { AU_LABELS, EXPR_LABELS, INPUT_SIZE, MEAN_RGB, RESIZE_SIZE, VA_BINS, VA_LABELS } from './constants.js';
import { ModelManifestError, type ManifestIssue } from './errors.js';

export const MANIFEST_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

const labels = <T extends readonly string[]>(expected: T) =>
  z
    .array(z.string())
    .length(expected.length)
    .refine((v) => v.every((l, i) => l === expected[i]), { message: `must be ${JSON.stringify(expected)} (the order of the model's outputs)` });

const probability = z.number().min(0).max(1);
/** A plain file name inside the model directory: no separators, no `..`. */
const fileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain file name inside the model directory');

export const ManifestSchema = z
  .strictObject({
    formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ -'),
    version: z.string().min(1),
    architecture: z.enum(['resnet50-caffe', 'compact']),
    kind: z.enum(['cnn', 'cnn-rnn']),
    input: z.strictObject({
      size: z.literal(INPUT_SIZE),
      resize: z.literal(RESIZE_SIZE),
      mean: z.tuple([z.number(), z.number(), z.number()]),
      scale: z.literal('0-255'),
      colour: z.literal('RGB'),
    }),
    /**
     * The tasks the weights were trained for. AU and VA come together or not at all: a model
     * distilled from expression-only teachers provides EXPR alone, and its AU / VA heads (random)
     * are never decoded.
     */
    tasks: z
      .strictObject({
        EXPR: z.strictObject({ labels: labels(EXPR_LABELS) }),
        AU: z.strictObject({ labels: labels(AU_LABELS), thresholds: z.array(probability).length(AU_LABELS.length) }).optional(),
        VA: z.strictObject({ labels: labels(VA_LABELS), bins: z.literal(VA_BINS) }).optional(),
      })
      .refine((t) => (t.AU === undefined) === (t.VA === undefined), { message: 'AU and VA are provided together or not at all' }),
    /** Frames per window the GRU heads were trained and thresholded with (cnn-rnn only). */
    seqLen: z.int().positive().optional(),
    members: z
      .array(z.strictObject({ name: fileName, role: z.enum(['teacher', 'student']), weights: fileName.endsWith('.json', 'must be a .json weights manifest') }))
      .min(1),
    /**
     * Whether the teacher is averaged with the students. The authors' ensemble (`--ensemble` of
     * `run_pretrained_model.py`, their api) merges the students only, so by default a teacher
     * listed next to students is kept in the directory but not run; a manifest without students
     * runs its teachers.
     */
    ensembleWithTeacher: z.boolean().optional(),
    provenance: z.strictObject({
      source: z.string().min(1),
      importedFrom: z.array(z.strictObject({ file: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'lower-case hex sha256') })).optional(),
      trainingData: z.array(z.string().min(1)),
      metrics: z.record(z.string(), z.number()).optional(),
      createdAt: z.iso.datetime({ offset: true }),
      tool: z.string().min(1),
    }),
  })
  .superRefine((m, ctx) => {
    if (m.kind === 'cnn-rnn' && m.seqLen === undefined) ctx.addIssue({ code: 'custom', path: ['seqLen'], message: 'required for kind cnn-rnn' });
    if (m.kind === 'cnn' && m.seqLen !== undefined) ctx.addIssue({ code: 'custom', path: ['seqLen'], message: 'only allowed for kind cnn-rnn' });
    const seen = new Map<string, number>();
    m.members.forEach((member, i) => {
      for (const [field, value] of [['name', member.name], ['weights', member.weights]] as const) {
        const key = `${field}:${value}`;
        const first = seen.get(key);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['members', i, field], message: `duplicates members.${first}.${field} (${value})` });
        else seen.set(key, i);
      }
    });
  });

export type ModelManifest = z.infer<typeof ManifestSchema>;
export type MemberRole = ModelManifest['members'][number]['role'];

/** The members the ensemble averages: the students, unless there are none or the manifest says the teacher is one of them. */
export function ensembleMembers(m: Pick<ModelManifest, 'members' | 'ensembleWithTeacher'>): ModelManifest['members'] {
  const students = m.members.filter((x) => x.role === 'student');
  return students.length === 0 || m.ensembleWithTeacher === true ? m.members : students;
}

export function manifestIssues(error: z.ZodError): ManifestIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** Validates parsed JSON; throws `ModelManifestError` naming every bad field. Returns a frozen manifest. */
export function parseManifest(json: unknown, source = MANIFEST_FILE): ModelManifest {
  const r = ManifestSchema.safeParse(json);
  if (!r.success) throw new ModelManifestError(source, manifestIssues(r.error));
  return deepFreeze(r.data);
}

/** Freezes a parsed manifest all the way down (shared by every manifest kind). */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** The standard input block of the seed's eval transform. */
export function seedInputSpec(): ModelManifest['input'] {
  return { size: INPUT_SIZE, resize: RESIZE_SIZE, mean: [...MEAN_RGB], scale: '0-255', colour: 'RGB' };
}

/** A manifest's task block with all three tasks (what every seed checkpoint provides). */
export type SeedTasks = Required<ModelManifest['tasks']>;

/** Task block with the seed's label names and the given AU thresholds. */
export function seedTaskSpec(thresholds: readonly number[]): SeedTasks {
  return {
    EXPR: { labels: [...EXPR_LABELS] },
    AU: { labels: [...AU_LABELS], thresholds: [...thresholds] },
    VA: { labels: [...VA_LABELS], bins: VA_BINS },
  };
}

/** Task block of a model that provides expressions only. */
export function exprOnlyTaskSpec(): ModelManifest['tasks'] {
  return { EXPR: { labels: [...EXPR_LABELS] } };
}

/** Whether the weights provide AU and VA (false: expressions only). */
export function manifestProvidesAuVa(m: Pick<ModelManifest, 'tasks'>): boolean {
  return m.tasks.AU !== undefined;
}
