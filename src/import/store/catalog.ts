/**
 * The model catalogue: which named models `daemon models pull` can fetch, from where, and what they
 * are. The built-in one is `config/model-catalog.json`; `--catalog FILE` (or `models.catalog`)
 * replaces it with a file of the same format — a mirror inside an organisation, or a test server.
 */
import { z } from 'zod';
import { AnalyticsError, ErrorCodes } from '../../core/errors.js';
import { MODEL_NAME } from '../../core/model-names.js';
import { readRegularText } from '../../core/read-regular-file.js';


const fileEntry = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a plain file name'),
  url: z.url({ protocol: /^https?$/ }),
  role: z.enum(['teacher', 'student']).default('student'),
  /** Pinned hash; null until someone with access fills it from a verified download. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable().default(null),
  maxBytes: z.int().positive().max(8 * 1024 ** 3),
});

const provenance = {
  description: z.string().max(1000),
  authors: z.string().max(500).optional(),
  paper: z.string().max(500).optional(),
  repository: z.string().max(500).optional(),
  licence: z.string().max(500),
  trainedOn: z.array(z.string().max(200)).max(32),
  reported: z.string().max(2000),
  /** The figures in `reported` as numbers, written into the imported manifest's provenance.metrics as `reported.<name>`. */
  reportedMetrics: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), z.number()).optional(),
};

const modelEntry = z.union([
  z.strictObject({ ...provenance, kind: z.literal('cnn'), files: z.array(fileEntry).min(1).max(16) }),
  z.strictObject({ ...provenance, kind: z.literal('cnn-rnn'), seqLen: z.int().min(2).max(256), files: z.array(fileEntry).min(1).max(16) }),
  z.strictObject({ ...provenance, kind: z.literal('backbone'), files: z.array(fileEntry).length(1) }),
  /** The FER+ ResNet-50 with its own classifier, installed as an expressions model (src/import/ferplus-expressions.ts). */
  z.strictObject({ ...provenance, kind: z.literal('ferplus-expressions'), files: z.array(fileEntry).length(1) }),
  z.strictObject({ description: z.string().max(1000), includes: z.array(z.string().regex(MODEL_NAME)).min(1).max(16) }),
]);

export const catalogSchema = z.strictObject({
  version: z.literal(1),
  models: z.record(z.string().regex(MODEL_NAME, 'model names are lower-case letters, digits, dots, dashes and underscores'), modelEntry),
});

export type Catalog = z.infer<typeof catalogSchema>;
export type CatalogEntry = Catalog['models'][string];
export type PullableEntry = Exclude<CatalogEntry, { includes: string[] }>;
export type CatalogFile = PullableEntry['files'][number];

export const isBundle = (e: CatalogEntry): e is Extract<CatalogEntry, { includes: string[] }> => 'includes' in e;

/** Reads and checks a catalogue file (bounded, regular file only); every problem is reported. */
export async function loadCatalog(file: string): Promise<Catalog> {
  const text = await readRegularText(file, { maxBytes: 1024 * 1024 });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AnalyticsError(ErrorCodes.CONFIG, `${file}: the model catalogue is not JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = catalogSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new AnalyticsError(ErrorCodes.CONFIG, `${file}: invalid model catalogue:\n  - ${problems.join('\n  - ')}`, { context: { problems } });
  }
  const cat = parsed.data;
  for (const [name, e] of Object.entries(cat.models)) {
    if (!isBundle(e)) continue;
    for (const inc of e.includes) {
      const target = cat.models[inc];
      if (target === undefined || isBundle(target)) throw new AnalyticsError(ErrorCodes.CONFIG, `${file}: ${name} includes ${inc}, which is not a pullable model of the catalogue`);
    }
  }
  return cat;
}

/** The pullable models a name stands for (a bundle stands for its parts). */
export function expandName(cat: Catalog, name: string): { name: string; entry: PullableEntry }[] {
  const e = cat.models[name];
  if (e === undefined) {
    const known = Object.keys(cat.models).join(', ');
    throw new AnalyticsError(ErrorCodes.MODEL_NOT_FOUND, `no model named ${JSON.stringify(name)} in the catalogue (it has: ${known})`);
  }
  if (!isBundle(e)) return [{ name, entry: e }];
  return e.includes.map((n) => ({ name: n, entry: cat.models[n] as PullableEntry }));
}
