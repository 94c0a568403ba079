/**
 * The label vocabulary of the affect outputs, in the models' classifier index order (seed spec
 * §1.3). It lives in core because the published events name their fields after it: the event
 * schemas (event-schemas.ts) and the models (models/seed/constants.ts re-exports it) share one list.
 */
export const EXPR_LABELS = ['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise'] as const;
export const AU_LABELS = ['AU1', 'AU2', 'AU4', 'AU6', 'AU12', 'AU15', 'AU20', 'AU25'] as const;

export type ExprLabel = (typeof EXPR_LABELS)[number];
export type AuLabel = (typeof AU_LABELS)[number];

/** One value per label, keyed by it (the shape of an event's `probs` and `active`). */
export function labelled<L extends string, V>(labels: readonly L[], value: (label: L, index: number) => V): Record<L, V> {
  // fromEntries types its keys as string; every label gets its entry, so the keys are exactly L.
  return Object.fromEntries(labels.map((label, j) => [label, value(label, j)])) as Record<L, V>;
}
