import { AnalyticsError, ErrorCodes, asAnalyticsError } from '../core/errors.js';
import type { StreamInfo } from '../supervisor/stream-supervisor.js';
import type { StreamApi } from './stream-api.js';
import { createStreamPayload, firstProblem } from './stream-payload.js';

/** The field an error names when the payload as a whole is wrong. */
export const WHOLE_PAYLOAD = '(body)';

/** `err`, naming `field` (its code, message and cause kept; errorAnswer() puts the field in the answer). */
export function concerning(err: unknown, field: string): AnalyticsError {
  const e = asAnalyticsError(err);
  return new AnalyticsError(e.code, e.message, { cause: e, context: { ...e.context, field } });
}

/**
 * Adds an API stream from a client's payload (the body of POST /v1/streams, the `stream` of a
 * broker `add` command): one validation and one set of refusals for both. Refusals throw an
 * AnalyticsError whose `context.field` is the payload's field it concerns (WHOLE_PAYLOAD for the
 * payload itself); the status is the code's (statusFor): 400 not an object or fails the schema or
 * a bad URL, 403 a file outside the roots, 409 a duplicate or cluster id, 429 the stream limit.
 * A failure of the daemon's own (VA_ERR_PERSISTENCE) is thrown as it is (500).
 */
export async function addStream(supervisor: Pick<StreamApi, 'has' | 'vetApiUrl' | 'add'>, payload: unknown): Promise<StreamInfo> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw concerning(new AnalyticsError(ErrorCodes.BAD_REQUEST, 'the stream must be a JSON object'), WHOLE_PAYLOAD);
  }
  const parsed = createStreamPayload.safeParse(payload);
  if (!parsed.success) {
    const p = firstProblem(parsed.error);
    throw concerning(new AnalyticsError(ErrorCodes.BAD_REQUEST, p.message), p.field);
  }
  const cfg = parsed.data;
  if (supervisor.has(cfg.id)) throw concerning(new AnalyticsError(ErrorCodes.CONFLICT, `stream ${cfg.id} already exists`), 'id');
  try {
    supervisor.vetApiUrl(cfg.url);
  } catch (err) {
    throw concerning(err, 'url');
  }
  try {
    // await: tolerates a supervisor whose add() is asynchronous (serialised lifecycle).
    return await supervisor.add(cfg, 'api');
  } catch (err) {
    // Added meanwhile, or an id the cluster's lease decides.
    if (err instanceof AnalyticsError && err.code === ErrorCodes.CONFLICT) throw concerning(err, 'id');
    throw err;
  }
}
