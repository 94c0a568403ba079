/**
 * `manifest.json` of a packaged-expression model directory: trained expression classifiers that
 * ship inside installed npm packages, named (package, version, file, sha256) rather than copied.
 * Every member declares its input exactly (crop, size, colour, scaling) and how its output labels
 * map onto the seed's EXPR order. Such models provide EXPR only: no AU, no VA. One member format
 * keeps its weights in the model directory instead: the FER+ ResNet-50 with its own classifier.
 */
import { z } from 'zod';
import { EXPR_LABELS } from '../seed/constants.js';
import { ModelManifestError } from '../seed/errors.js';
import { deepFreeze, manifestIssues } from '../seed/manifest.js';

export const PACKAGED_ARCHITECTURE = 'packaged-expression';

/** A path inside the package: relative, forward slashes, no `..` or empty segments. */
const packagePath = z
  .string()
  .max(300)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/, 'must be a relative path inside the package (no .., no leading /)')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ..');

/** npm package names (scoped or not); nothing that could walk out of node_modules. */
const packageName = z.string().regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, 'must be an npm package name');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'lower-case hex sha256');

export const CropSchema = z.discriminatedUnion('kind', [
  /** The daemon's seed §7.1 alignment (eyes level, square of 2α around the eye–mouth centre). */
  z.strictObject({ kind: z.literal('aligned') }),
  /**
   * An upright square around the centre of the face box (the mesh's tight face box), with side
   * `scale` × the box's longer side: the crop the packages' own pipelines feed their models.
   */
  z.strictObject({ kind: z.literal('box'), scale: z.number().min(0.5).max(4) }),
]);
export type FaceCropSpec = z.infer<typeof CropSchema>;

export const PackageMemberSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a plain name'),
  role: z.enum(['teacher', 'student']),
  /** How the package stores the network: a TF.js graph model, or face-api's weights-only format. */
  format: z.enum(['tfjs-graph-model', 'face-api-face-expression']),
  package: z.strictObject({
    name: packageName,
    /** The version the figures in the provenance were measured with. */
    version: z.string().min(1).max(64),
    /** The model file: a graph model's model.json, or face-api's weights manifest. */
    model: packagePath,
    /** Every file the model reads, with its hash: a different file fails the load. */
    files: z.array(z.strictObject({ path: packagePath, sha256 })).min(1),
  }),
  input: z.strictObject({
    /** Square side the member's network takes; the face crop is resized to it (bilinear). */
    size: z.int().min(16).max(512),
    /** `grey`: Σ weights·RGB (ITU-R BT.601 luma, as the package computes it); `rgb`: as decoded. */
    colour: z.enum(['grey', 'rgb']),
    greyWeights: z.tuple([z.number(), z.number(), z.number()]).optional(),
    /** Per channel (1 for grey, 3 for RGB) on the 0–255 scale: y = (x − mean) / divisor. */
    mean: z.array(z.number()).min(1).max(3),
    divisor: z.number().positive(),
  }),
  /** What the network outputs: softmax probabilities, or logits that still need the softmax. */
  output: z.enum(['probabilities', 'logits']),
  /** The network's output labels in output order, as the package names them. */
  labels: z.array(z.string().min(1)).length(EXPR_LABELS.length),
  /** The seed EXPR label of each output, in output order (a permutation of the seed's labels). */
  labelMap: z.array(z.enum(EXPR_LABELS)).length(EXPR_LABELS.length),
});
export type PackageMemberSpec = z.infer<typeof PackageMemberSchema>;

/** A plain file name inside the model directory: no separators, no `..`. */
const dirFile = z.string().max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain file name inside the model directory');

/**
 * The FER+ ResNet-50 (`resnet50_ferplus_dag`, Albanie's conversion) with its own classifier, its
 * weights in the model directory (written by `daemon models pull ferplus-expressions`): the caffe
 * ResNet-50 backbone, global average pooling (pool5_7x7_s1 at 224×224), then the 1×1-conv
 * classifier as `classifier/kernel` [C, 7] and `classifier/bias` [7], rows in `labels` order.
 */
export const FerplusMemberSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a plain name'),
  role: z.enum(['teacher', 'student']),
  format: z.literal('ferplus-resnet50'),
  /** The TF.js weights manifest and its shards, each with its hash: a different file fails the load. */
  weights: z.strictObject({
    manifest: dirFile.endsWith('.json', 'must be a .json weights manifest'),
    files: z.array(z.strictObject({ path: dirFile, sha256 })).min(2).max(64),
  }),
  input: z.strictObject({
    size: z.int().min(16).max(512),
    /**
     * `rgb`: as decoded; `grey-rgb`: BT.601 luma copied into all three channels, as FER+'s
     * greyscale images reach the network (Albanie's loader repeats the grey channel three times).
     */
    colour: z.enum(['rgb', 'grey-rgb']),
    /** How the crop reaches `size`: Pillow's bilinear resize of the uint8 image (torchvision Resize on a PIL image). */
    resize: z.literal('pil-bilinear'),
    /** RGB, on the 0–255 scale: y = (x − mean) / divisor. */
    mean: z.tuple([z.number(), z.number(), z.number()]),
    divisor: z.number().positive(),
  }),
  output: z.literal('logits'),
  labels: z.array(z.string().min(1)).length(EXPR_LABELS.length),
  labelMap: z.array(z.enum(EXPR_LABELS)).length(EXPR_LABELS.length),
});
export type FerplusMemberSpec = z.infer<typeof FerplusMemberSchema>;

export const PackagedMemberSchema = z.discriminatedUnion('format', [PackageMemberSchema, FerplusMemberSchema]);
export type PackagedMemberSpec = z.infer<typeof PackagedMemberSchema>;

export const PackagedManifestSchema = z
  .strictObject({
    formatVersion: z.literal(1),
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ -'),
    version: z.string().min(1),
    architecture: z.literal(PACKAGED_ARCHITECTURE),
    /** Per-frame models: no GRU heads, no windows. */
    kind: z.literal('cnn'),
    /** The face crop every member is fed (one per face, shared by the members). */
    crop: CropSchema,
    /** Side of the cut crop in pixels before each member resizes it to its own input. */
    cropSize: z.int().min(16).max(512),
    tasks: z.strictObject({ EXPR: z.strictObject({ labels: z.array(z.string()).refine((v) => v.length === EXPR_LABELS.length && v.every((l, i) => l === EXPR_LABELS[i]), { message: `must be ${JSON.stringify(EXPR_LABELS)}` }) }) }),
    members: z.array(PackagedMemberSchema).min(1),
    provenance: z.strictObject({
      source: z.string().min(1),
      trainingData: z.array(z.string().min(1)),
      /** Measured figures (`daemon bench expressions`), flat name → value. */
      metrics: z.record(z.string(), z.number()).optional(),
      /** How the figures were measured, and what they mean. */
      notes: z.array(z.string()).optional(),
      createdAt: z.iso.datetime({ offset: true }),
      tool: z.string().min(1),
    }),
  })
  .superRefine((m, ctx) => {
    const names = new Set<string>();
    m.members.forEach((member, i) => {
      if (names.has(member.name)) ctx.addIssue({ code: 'custom', path: ['members', i, 'name'], message: `duplicate member name ${member.name}` });
      names.add(member.name);
      if (new Set(member.labelMap).size !== EXPR_LABELS.length) {
        ctx.addIssue({ code: 'custom', path: ['members', i, 'labelMap'], message: 'must name every seed EXPR label exactly once' });
      }
      if (member.format === 'ferplus-resnet50') {
        if (!member.weights.files.some((f) => f.path === member.weights.manifest)) {
          ctx.addIssue({ code: 'custom', path: ['members', i, 'weights', 'files'], message: `must list the weights manifest ${member.weights.manifest} with its hash` });
        }
        return;
      }
      const channels = member.input.colour === 'grey' ? 1 : 3;
      if (member.input.mean.length !== channels) {
        ctx.addIssue({ code: 'custom', path: ['members', i, 'input', 'mean'], message: `needs ${channels} value(s) for ${member.input.colour} input` });
      }
      if (member.input.colour === 'grey' && member.input.greyWeights === undefined) {
        ctx.addIssue({ code: 'custom', path: ['members', i, 'input', 'greyWeights'], message: 'required for grey input' });
      }
      if (!member.package.files.some((f) => f.path === member.package.model)) {
        ctx.addIssue({ code: 'custom', path: ['members', i, 'package', 'files'], message: `must list the model file ${member.package.model} with its hash` });
      }
    });
  });

export type PackagedManifest = z.infer<typeof PackagedManifestSchema>;

export function isPackagedManifestJson(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as { architecture?: unknown }).architecture === PACKAGED_ARCHITECTURE;
}

export function parsePackagedManifest(json: unknown, source: string): PackagedManifest {
  const r = PackagedManifestSchema.safeParse(json);
  if (!r.success) throw new ModelManifestError(source, manifestIssues(r.error));
  return deepFreeze(r.data);
}
