/**
 * The uncertainty and baseline fields of a `daemon predict` row (and a recording's events.csv),
 * named as in `affect` events (docs/events.md, "Uncertainty" and "Baselines"), and their CSV
 * columns. Rows hold arrays in label order where events hold objects keyed by label.
 */
import { AU_LABELS, EXPR_LABELS } from './affect-labels.js';
import type { BASELINE_STATES } from './event-schemas.js';

export interface RowVaPair {
  readonly valence: number;
  readonly arousal: number;
}

/** Added to a row's `au`. */
export interface AuTrust {
  readonly spread?: number[];
  readonly windowSpread?: number[];
}

/** Added to a row's `expr`. */
export interface ExprTrust {
  readonly entropy?: number;
  readonly margin?: number;
  readonly agreement?: number;
  readonly windowAgreement?: number;
}

/** Added to a row's `va`. */
export interface VaTrust {
  readonly std?: RowVaPair;
  readonly windowStd?: RowVaPair;
}

export interface RowBaseline {
  readonly state: (typeof BASELINE_STATES)[number];
  readonly samples: number;
  readonly au?: { readonly probs: number[]; readonly delta: number[] };
  readonly expr?: { readonly probs: number[]; readonly delta: number[] };
  readonly va?: RowVaPair & { readonly delta: RowVaPair };
}

interface TrustRow {
  readonly au?: AuTrust;
  readonly expr: ExprTrust;
  readonly va?: VaTrust;
  readonly baseline?: RowBaseline;
}

const pair = (name: string): string[] => [`${name}.valence`, `${name}.arousal`];

/** The uncertainty columns, after the decision's (`auVa`: the model has AU and VA heads). */
export function trustHeader(auVa: boolean, baseline: boolean): string[] {
  return [
    ...(auVa ? [...AU_LABELS.map((l) => `au.spread.${l}`), ...AU_LABELS.map((l) => `au.windowSpread.${l}`)] : []),
    'expr.entropy',
    'expr.margin',
    'expr.agreement',
    'expr.windowAgreement',
    ...(auVa ? [...pair('va.std'), ...pair('va.windowStd')] : []),
    ...(baseline
      ? [
          'baseline.state',
          'baseline.samples',
          ...(auVa ? [...AU_LABELS.map((l) => `baseline.au.probs.${l}`), ...AU_LABELS.map((l) => `baseline.au.delta.${l}`)] : []),
          ...EXPR_LABELS.map((l) => `baseline.expr.probs.${l}`),
          ...EXPR_LABELS.map((l) => `baseline.expr.delta.${l}`),
          ...(auVa ? [...pair('baseline.va'), ...pair('baseline.va.delta')] : []),
        ]
      : []),
  ];
}

/** The values of `trustHeader`'s columns; '' where a row does not have the field. */
export function trustValues(row: TrustRow, auVa: boolean, baseline: boolean): (string | number)[] {
  const list = (v: readonly number[] | undefined, n: number): (string | number)[] => (v ? [...v] : new Array<string>(n).fill(''));
  const two = (v: RowVaPair | undefined): (string | number)[] => [v?.valence ?? '', v?.arousal ?? ''];
  const b = row.baseline;
  return [
    ...(auVa ? [...list(row.au?.spread, AU_LABELS.length), ...list(row.au?.windowSpread, AU_LABELS.length)] : []),
    row.expr.entropy ?? '',
    row.expr.margin ?? '',
    row.expr.agreement ?? '',
    row.expr.windowAgreement ?? '',
    ...(auVa ? [...two(row.va?.std), ...two(row.va?.windowStd)] : []),
    ...(baseline
      ? [
          b?.state ?? '',
          b?.samples ?? '',
          ...(auVa ? [...list(b?.au?.probs, AU_LABELS.length), ...list(b?.au?.delta, AU_LABELS.length)] : []),
          ...list(b?.expr?.probs, EXPR_LABELS.length),
          ...list(b?.expr?.delta, EXPR_LABELS.length),
          ...(auVa ? [...two(b?.va), ...two(b?.va?.delta)] : []),
        ]
      : []),
  ];
}
