/**
 * The rows of `daemon predict` and of a recording's events.csv: one per frame (per frame and track
 * for a video), and their flattening into CSV columns. JSON paths become dotted column names
 * (`au.probs.AU1`). In core because both the offline tool (src/predict) and the daemon (a
 * recording's export) write them, and their columns must be the same.
 */
import { AU_LABELS, EXPR_LABELS } from './affect-labels.js';
import type { FacesEvent } from './records.js';
import { trustHeader, trustValues, type AuTrust, type ExprTrust, type RowBaseline, type VaTrust } from './trust-columns.js';

export interface MemberRow {
  readonly name: string;
  readonly role: string;
  readonly au?: { readonly probs: number[] };
  readonly expr: { readonly probs: number[]; readonly label: string };
  readonly va?: { readonly valence: number; readonly arousal: number };
}

/** A faces event's `quality` object (rounded as the event rounds it). */
export type FaceQualityRow = FacesEvent['faces'][number]['quality'];

/** The quality columns of a video row, in this order. */
export const QUALITY_COLUMNS = [
  'quality.score',
  'quality.interocularPx',
  'quality.sharpness',
  'quality.pose.yaw',
  'quality.pose.pitch',
  'quality.pose.roll',
  'quality.eyes.left',
  'quality.eyes.right',
  'quality.eyes.closure',
  'quality.eyes.perclos',
  'quality.eyes.blinkRate',
] as const;

function qualityValues(q: FaceQualityRow | undefined): (string | number)[] {
  if (!q) return QUALITY_COLUMNS.map(() => '');
  return [q.score, q.interocularPx, q.sharpness, q.pose?.yaw ?? '', q.pose?.pitch ?? '', q.pose?.roll ?? '', q.eyes?.left ?? '', q.eyes?.right ?? '', q.eyes?.closure ?? '', q.eyes?.perclos ?? '', q.eyes?.blinkRate ?? ''];
}

export interface PredictionRow {
  /** 0-based: position in the sorted image list, or the decoded-frame number of a video. */
  readonly frame: number;
  /** The image file name, or the video file name. */
  readonly source: string;
  readonly trackId?: number;
  /** Video only: stream time of the frame in seconds. */
  readonly pts?: number;
  /**
   * `active` is 0/1 (probability > the manifest's per-AU threshold), as in the seed's output files.
   * Absent (with `va`) for a model that provides expressions only.
   */
  readonly au?: { readonly probs: number[]; readonly active: number[] } & AuTrust;
  readonly expr: { readonly probs: number[]; readonly label: string } & ExprTrust;
  readonly va?: { readonly valence: number; readonly arousal: number } & VaTrust;
  /** The track's baseline (video rows, with `baseline.enabled`). */
  readonly baseline?: RowBaseline;
  /** Video rows: the face's quality, as its faces event reports it (docs/events.md, "Face quality"). */
  readonly quality?: FaceQualityRow;
  readonly members?: MemberRow[];
}

export interface CsvLayout {
  /** Video rows carry `trackId` and `pts` columns. */
  readonly video: boolean;
  /** Member names for the per-member columns (empty: none). */
  readonly members: readonly string[];
  /** Whether the model provides AU and VA (default true); an expressions-only model has no such columns. */
  readonly auVa?: boolean;
  /** Uncertainty columns (au.spread.*, expr.entropy, …; default false: `daemon predict` asks for them). */
  readonly trust?: boolean;
  /** Baseline columns (baseline.*; default false: video rows with baselines only). */
  readonly baseline?: boolean;
  /** Face-quality columns (quality.*; default false: `daemon predict` asks for them on videos). */
  readonly quality?: boolean;
}

export function csvHeader(layout: CsvLayout): string[] {
  const auVa = layout.auVa !== false;
  const head = ['frame', 'source', ...(layout.video ? ['trackId', 'pts'] : [])];
  const decision = [
    ...(auVa ? AU_LABELS.map((l) => `au.probs.${l}`) : []),
    ...(auVa ? AU_LABELS.map((l) => `au.active.${l}`) : []),
    ...EXPR_LABELS.map((l) => `expr.probs.${l}`),
    'expr.label',
    ...(auVa ? ['va.valence', 'va.arousal'] : []),
    ...(layout.trust === true ? trustHeader(auVa, layout.baseline === true) : []),
    ...(layout.quality === true ? QUALITY_COLUMNS : []),
  ];
  const member = (name: string): string[] => [
    ...(auVa ? AU_LABELS.map((l) => `members.${name}.au.probs.${l}`) : []),
    ...EXPR_LABELS.map((l) => `members.${name}.expr.probs.${l}`),
    `members.${name}.expr.label`,
    ...(auVa ? [`members.${name}.va.valence`, `members.${name}.va.arousal`] : []),
  ];
  return [...head, ...decision, ...layout.members.flatMap(member)];
}

export function csvValues(row: PredictionRow, layout: CsvLayout): (string | number)[] {
  const auVa = layout.auVa !== false;
  const blank = (n: number): string[] => new Array<string>(n).fill('');
  const head = [row.frame, row.source, ...(layout.video ? [row.trackId ?? '', row.pts ?? ''] : [])];
  const decision = [
    ...(auVa ? [...(row.au?.probs ?? blank(AU_LABELS.length)), ...(row.au?.active ?? blank(AU_LABELS.length))] : []),
    ...row.expr.probs,
    row.expr.label,
    ...(auVa ? [row.va?.valence ?? '', row.va?.arousal ?? ''] : []),
    ...(layout.trust === true ? trustValues(row, auVa, layout.baseline === true) : []),
    ...(layout.quality === true ? qualityValues(row.quality) : []),
  ];
  const members = layout.members.flatMap((name) => {
    const m = row.members?.find((x) => x.name === name);
    if (m === undefined) return blank((auVa ? AU_LABELS.length + 2 : 0) + EXPR_LABELS.length + 1);
    return [
      ...(auVa ? (m.au?.probs ?? blank(AU_LABELS.length)) : []),
      ...m.expr.probs,
      m.expr.label,
      ...(auVa ? [m.va?.valence ?? '', m.va?.arousal ?? ''] : []),
    ];
  });
  return [...head, ...decision, ...members];
}

/** RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled. */
export function csvLine(values: readonly (string | number)[]): string {
  return values.map((v) => (typeof v === 'string' && /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v))).join(',');
}
