import { ModelLoadError } from '../../core/errors.js';

/** Typed, code-carrying errors of the seed model package. Callers match on `code`, never on the message. */

export type SeedErrorCode =
  /** Weights missing, unexpected, mis-shaped, wrong dtype, or of the wrong model kind. */
  | 'VA_ERR_MODEL_WEIGHTS'
  /** `manifest.json` absent, not JSON, or failing the schema. */
  | 'VA_ERR_MODEL_MANIFEST'
  /** A file named by the manifest is missing or unreadable. */
  | 'VA_ERR_MODEL_FILES'
  /** A tensor handed to the model has the wrong shape. */
  | 'VA_ERR_MODEL_INPUT';

export class SeedModelError extends ModelLoadError {
  declare readonly code: SeedErrorCode;

  constructor(code: SeedErrorCode, message: string, context: Readonly<Record<string, unknown>> = {}, options?: { cause?: unknown }) {
    super(code, message, { ...(options ?? {}), context: { ...context } });
  }
}

export type WeightProblem =
  | { readonly kind: 'missing'; readonly name: string; readonly expected: readonly number[] }
  | { readonly kind: 'unexpected'; readonly name: string; readonly actual: readonly number[] }
  | { readonly kind: 'shape'; readonly name: string; readonly expected: readonly number[]; readonly actual: readonly number[] }
  | { readonly kind: 'dtype'; readonly name: string; readonly dtype: string }
  | { readonly kind: 'model-kind'; readonly name: string; readonly expected: string; readonly actual: string };

const MAX_LISTED = 60;

function describe(p: WeightProblem): string {
  const s = (shape: readonly number[]): string => `[${shape.join(',')}]`;
  switch (p.kind) {
    case 'missing':
      return `missing ${p.name} ${s(p.expected)}`;
    case 'unexpected':
      return `unexpected ${p.name} ${s(p.actual)}`;
    case 'shape':
      return `shape mismatch ${p.name}: expected ${s(p.expected)}, got ${s(p.actual)}`;
    case 'dtype':
      return `dtype ${p.name}: ${p.dtype} is not a float type`;
    case 'model-kind':
      return `model kind: expected ${p.expected}, the weights are ${p.actual} (${p.name})`;
  }
}

/** Every weight problem of one source, reported together. */
export class ModelWeightsError extends SeedModelError {
  readonly problems: readonly WeightProblem[];

  constructor(source: string, problems: readonly WeightProblem[]) {
    const counts = (['model-kind', 'missing', 'unexpected', 'shape', 'dtype'] as const)
      .map((k) => [k, problems.filter((p) => p.kind === k).length] as const)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    const listed = problems.slice(0, MAX_LISTED).map(describe);
    const more = problems.length > MAX_LISTED ? `\n  … and ${problems.length - MAX_LISTED} more (see .problems)` : '';
    super('VA_ERR_MODEL_WEIGHTS', `${source}: ${problems.length} weight problem(s) (${counts}):\n  ${listed.join('\n  ')}${more}`, { source, problems });
    this.name = 'ModelWeightsError';
    this.problems = problems;
  }
}

export interface ManifestIssue {
  /** Dotted path of the offending field, e.g. `members.0.role`. */
  readonly path: string;
  readonly message: string;
}

export class ModelManifestError extends SeedModelError {
  readonly issues: readonly ManifestIssue[];

  constructor(source: string, issues: readonly ManifestIssue[], options?: { cause?: unknown }) {
    super(
      'VA_ERR_MODEL_MANIFEST',
      `${source}: invalid model manifest (${issues.length} issue(s)):\n  ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('\n  ')}`,
      { source, issues },
      options,
    );
    this.name = 'ModelManifestError';
    this.issues = issues;
  }
}
