import { ErrorCodes } from '../core/errors.js';

/** Where a stream command came from: the HTTP API or a broker sink's control topic. */
export type CommandSource = 'http' | 'mqtt' | 'nats';

/**
 * Why a command was refused before it ran (its answer about a stream, 404 or 409, is not a
 * refusal): `unauthorised` (no or a wrong token), `forbidden` (Host or Origin not allowed),
 * `too-large`, `malformed` (not UTF-8 JSON, not a JSON object, not application/json),
 * `invalid` (an unknown operation or method, fields that fail the schema, a bad source URL),
 * `source-forbidden` (a source the URL policy refuses), `limit` (the stream limit, or the control
 * topic's backlog full).
 */
export type RefusalReason = 'unauthorised' | 'forbidden' | 'too-large' | 'malformed' | 'invalid' | 'source-forbidden' | 'limit';

export const REFUSAL_REASONS: readonly RefusalReason[] = ['unauthorised', 'forbidden', 'too-large', 'malformed', 'invalid', 'source-forbidden', 'limit'];

/** The refusal an error answer stands for, or undefined when the command ran (or failed on its merits). */
export function refusalReason(code: string, field?: string): RefusalReason | undefined {
  switch (code) {
    case ErrorCodes.UNAUTHORIZED:
      return 'unauthorised';
    case ErrorCodes.HOST_FORBIDDEN:
    case ErrorCodes.ORIGIN_FORBIDDEN:
      return 'forbidden';
    case ErrorCodes.PAYLOAD_TOO_LARGE:
      return 'too-large';
    case ErrorCodes.UNSUPPORTED_MEDIA_TYPE:
      return 'malformed';
    case ErrorCodes.BAD_REQUEST:
      // The body as a whole (not JSON, not an object) vs. one field of it.
      return field === '(body)' ? 'malformed' : 'invalid';
    case ErrorCodes.METHOD_NOT_ALLOWED:
    case ErrorCodes.SOURCE_SCHEME:
    case ErrorCodes.SOURCE_URL:
      return 'invalid';
    case ErrorCodes.SOURCE_FORBIDDEN:
      return 'source-forbidden';
    case ErrorCodes.LIMIT:
      return 'limit';
    default:
      return undefined;
  }
}
