import { defer, map, type OperatorFunction } from 'rxjs';
import { smoothScores, type AffectSmoothers } from './affect-events.js';
import type { DecidedRecord } from './affect-records.js';
import { createSmoother, type SmoothingKind } from './smoothing.js';

/**
 * Per-track temporal smoothing of probabilities and VA (state per subscription, released when a
 * track ends). `off` passes decisions through untouched.
 */
export function smoothAffect(kind: SmoothingKind): OperatorFunction<DecidedRecord, DecidedRecord> {
  if (kind === 'off') return (source) => source;
  return (source) =>
    defer(() => {
      const s: AffectSmoothers = {
        au: createSmoother(kind, { constraint: 'unit' }),
        expr: createSmoother(kind, { constraint: 'simplex' }),
        va: createSmoother(kind, { constraint: 'signed-unit' }),
      };
      return source.pipe(
        map(({ decided, forget }) => {
          const out = { decided: decided.map((d) => ({ meta: d.meta, scores: smoothScores(s, d.meta, d.scores) })), forget };
          for (const id of forget) {
            s.au.forget(id);
            s.expr.forget(id);
            s.va.forget(id);
          }
          return out;
        }),
      );
    });
}
