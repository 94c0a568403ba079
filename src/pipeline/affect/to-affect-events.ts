import { map, type OperatorFunction } from 'rxjs';
import type { AffectEvent } from '../../core/records.js';
import { affectEventOf, type AffectEventContext } from './affect-events.js';
import type { DecidedRecord } from './affect-records.js';

/** One `affect` event per decided frame and track, in order. */
export function toAffectEvents(ctx: AffectEventContext): OperatorFunction<DecidedRecord, AffectEvent[]> {
  return map(({ decided }) => decided.map((d) => affectEventOf(d.meta, d.scores, ctx)));
}
