import { scrubCredentials } from '../streams/open-source.js';

const MAX_CAUSES = 5;

function scrubbedValue(v: unknown): unknown {
  if (typeof v === 'string') return scrubCredentials(v);
  if (v === null || typeof v !== 'object') return v;
  try {
    return JSON.parse(scrubCredentials(JSON.stringify(v))) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * `err` for a log line's `err` field, with every URL's credentials hidden in its message, stack,
 * fields (code, context) and causes: a source error can quote the camera URL, and pino's
 * serializer would log all of them as they are. Its class (pino's `type`) is kept.
 */
export function scrubbedError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return scrubbedValue(err);
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error & Record<string, unknown>;
  for (const [k, v] of Object.entries(err)) copy[k] = scrubbedValue(v);
  Object.defineProperty(copy, 'message', { value: scrubCredentials(err.message), enumerable: false, writable: true });
  Object.defineProperty(copy, 'stack', { value: err.stack === undefined ? undefined : scrubCredentials(err.stack), enumerable: false, writable: true });
  if (err.cause !== undefined && depth < MAX_CAUSES) Object.defineProperty(copy, 'cause', { value: scrubbedError(err.cause, depth + 1), enumerable: false, writable: true });
  return copy;
}
