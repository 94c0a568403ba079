/**
 * Checks a set of TF.js weight names/shapes against the architecture: every expected weight
 * present with its exact shape, nothing extra. Widths are read off the weights first, so any
 * consistent width scaling passes and any inconsistency is named.
 */
import { detectArchitecture, inferDims, seedParams, type SeedArchitecture, type SeedDims, type SeedKind } from './architecture.js';
import type { WeightProblem } from './errors.js';

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Which kind a set of TF.js weight names describes (GRU weights ⇒ cnn-rnn). */
export function detectKind(names: Iterable<string>): SeedKind {
  for (const n of names) if (n.startsWith('gru/')) return 'cnn-rnn';
  return 'cnn';
}

export interface WeightCheck {
  readonly dims: SeedDims;
  readonly problems: WeightProblem[];
}

export function checkWeightShapes(arch: SeedArchitecture, kind: SeedKind, shapes: ReadonlyMap<string, readonly number[]>): WeightCheck {
  const problems: WeightProblem[] = [];
  const foundArch = detectArchitecture(shapes.keys());
  if (foundArch !== undefined && foundArch !== arch) {
    problems.push({ kind: 'model-kind', name: 'backbone', expected: arch, actual: foundArch });
  }
  const foundKind = detectKind(shapes.keys());
  if (foundKind !== kind) problems.push({ kind: 'model-kind', name: 'gru heads', expected: kind, actual: foundKind });
  const dims = inferDims(arch, (n) => shapes.get(n));
  const expected = seedParams(kind, dims);
  const names = new Set<string>();
  for (const p of expected) {
    names.add(p.tf);
    const actual = shapes.get(p.tf);
    if (actual === undefined) problems.push({ kind: 'missing', name: p.tf, expected: p.tfShape });
    else if (!sameShape(actual, p.tfShape)) problems.push({ kind: 'shape', name: p.tf, expected: p.tfShape, actual });
  }
  for (const [name, actual] of shapes) if (!names.has(name)) problems.push({ kind: 'unexpected', name, actual });
  return { dims, problems };
}
