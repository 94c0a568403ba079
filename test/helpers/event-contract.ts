/**
 * The event contract as a consumer sees it: every event the tests receive (WebSocket, brokers, a
 * daemon's event bus) is checked against the committed JSON Schemas of docs/api/events/, not the
 * zod schemas they are generated from, so a shape the code publishes and the documents do not
 * describe fails the suite.
 *
 * Hooks in socket handlers cannot throw into the test that owns them, so they record what they
 * refuse (recordIfRefused); setup.ts fails the test (or the file's last hooks) during which a
 * violation was recorded.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { Observable } from 'rxjs';
import { EVENT_TYPES, type AnalyticsEvent, type EventType } from '../../src/core/records.js';
import { recordContractViolation } from './contract-violations.js';
import { repoRoot } from './media.js';

export { takeContractViolations } from './contract-violations.js';

/**
 * Where an event was seen. Broker messages carry `schemaVersion` (the sink adds it); the WebSocket
 * and the daemon's in-process bus (whose JSON is what the WebSocket sends) never do.
 */
export type EventRoute = 'websocket' | 'broker' | 'bus';

export class EventContractError extends Error {
  override readonly name = 'EventContractError';
}

let validators: ReadonlyMap<EventType, ValidateFunction> | undefined;

function validatorFor(type: EventType): ValidateFunction {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    // ajv-formats is CommonJS with its plugin on .default.
    formats.default(ajv);
    validators = new Map(
      EVENT_TYPES.map((t) => {
        const file = path.join(repoRoot, 'docs', 'api', 'events', `${t}.schema.json`);
        return [t, ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object)];
      }),
    );
  }
  const v = validators.get(type);
  if (!v) throw new Error(`no committed schema for ${type}`);
  return v;
}

const where = (instancePath: string): string => (instancePath === '' ? '(root)' : instancePath);

function describeError(e: ErrorObject): string {
  const extra = e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty?: unknown }).additionalProperty)}` : '';
  return `${where(e.instancePath)}: ${e.message ?? 'invalid'} (${e.keyword}${extra})`;
}

const isEventType = (t: unknown): t is EventType => typeof t === 'string' && (EVENT_TYPES as readonly string[]).includes(t);

/** Checks one parsed event; throws an EventContractError naming the type, the paths and the keywords. */
export function checkEvent(value: unknown, route: EventRoute): AnalyticsEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EventContractError(`event (${route}): (root): not an object`);
  const record = value as Record<string, unknown>;
  if (!isEventType(record.type)) {
    throw new EventContractError(`event (${route}): /type: ${JSON.stringify(record.type)} is not an event type (${EVENT_TYPES.join(', ')})`);
  }
  const problems: string[] = [];
  const versioned = Object.hasOwn(record, 'schemaVersion');
  if (route === 'broker' && !versioned) problems.push("(root): must have required property 'schemaVersion' (required)");
  if (route !== 'broker' && versioned) problems.push('/schemaVersion: must be absent on the WebSocket (only broker messages carry it)');
  const validate = validatorFor(record.type);
  if (!validate(value)) problems.push(...(validate.errors ?? []).map(describeError));
  if (problems.length > 0) throw new EventContractError(`${record.type} event (${route}): ${problems.join('; ')}\n  in ${JSON.stringify(value).slice(0, 400)}`);
  return value as AnalyticsEvent;
}

/** Checks one message as it arrived (UTF-8 JSON text). */
export function checkEventText(text: string, route: EventRoute): AnalyticsEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EventContractError(`event (${route}): not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return checkEvent(value, route);
}

/** For socket and broker handlers: records a refused message instead of throwing into the emitter. */
export function recordIfRefused(text: string, route: EventRoute): void {
  try {
    checkEventText(text, route);
  } catch (e) {
    recordContractViolation(e instanceof Error ? e.message : String(e));
  }
}

/** Checks every event of a daemon's bus as it would go out; returns the unsubscribe. */
export function watchEvents(events: Observable<AnalyticsEvent>): () => void {
  const sub = events.subscribe((e) => recordIfRefused(JSON.stringify(e), 'bus'));
  return () => sub.unsubscribe();
}
