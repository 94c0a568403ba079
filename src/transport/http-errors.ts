import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { ErrorCodes, asAnalyticsError, type ErrorCode } from '../core/errors.js';

/**
 * The HTTP status of each error code a request (or a broker control command, whose reply states
 * the status the same HTTP request would get) can be refused with. A code not listed is the
 * server's own failure: 500.
 */
export const STATUS_FOR_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.SOURCE_SCHEME]: 400,
  [ErrorCodes.SOURCE_URL]: 400,
  // In a request only the URL check raises it: a file: URL that names no local file.
  [ErrorCodes.SOURCE_OPEN]: 400,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.SOURCE_FORBIDDEN]: 403,
  [ErrorCodes.HOST_FORBIDDEN]: 403,
  [ErrorCodes.ORIGIN_FORBIDDEN]: 403,
  [ErrorCodes.SNAPSHOT_FORBIDDEN]: 403,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.METHOD_NOT_ALLOWED]: 405,
  [ErrorCodes.CONFLICT]: 409,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCodes.LIMIT]: 429,
};

export function statusFor(code: ErrorCode): number {
  return STATUS_FOR_CODE[code] ?? 500;
}

/** A refusal of the client's request (4xx), as opposed to the server's own failure (5xx). */
export function isRefusal(status: number): boolean {
  return status < 500;
}

/**
 * Statuses HTTP itself decides, where the status says more than any of our codes could: the body
 * of each still carries a code (VA_ERR_BAD_REQUEST), except `unavailable` (readiness, and a
 * WebSocket refused for want of room, which has no body).
 */
export const PROTOCOL_STATUS = {
  requestTimeout: 408,
  /** A Range header none of whose bytes the file has (a recording's video). */
  rangeNotSatisfiable: 416,
  expectationFailed: 417,
  upgradeRequired: 426,
  headersTooLarge: 431,
  unavailable: 503,
} as const;

export type ProtocolStatus = (typeof PROTOCOL_STATUS)[keyof typeof PROTOCOL_STATUS];

/** The JSON error every refusal carries, over HTTP and in a broker control reply. */
export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  /** The field of the client's message the error concerns (`(body)`: the message as a whole). */
  readonly field?: string;
}

export interface ErrorAnswer {
  readonly status: number;
  readonly error: ErrorBody;
}

/**
 * A thrown value as the answer a client gets: the status from its code, the field from its
 * `context.field` (a refusal that concerns one field names it there). `at` places that field in
 * the message the client sent (a broker command nests the stream under `stream`).
 */
export function errorAnswer(err: unknown, at: (field: string) => string = (f) => f): ErrorAnswer {
  const e = asAnalyticsError(err);
  const field = e.context.field;
  return { status: statusFor(e.code), error: { code: e.code, message: e.message, ...(typeof field === 'string' ? { field: at(field) } : {}) } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export interface ErrorOptions {
  readonly field?: string | undefined;
  readonly headers?: Record<string, string> | undefined;
  /** Only for the answers HTTP itself decides; otherwise the status is the code's. */
  readonly status?: ProtocolStatus | undefined;
}

/** Answers with `{error: {code, message, field?}}` and the code's status. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, opts: ErrorOptions = {}): void {
  const body: ErrorBody = { code, message, ...(opts.field !== undefined ? { field: opts.field } : {}) };
  sendJson(res, opts.status ?? statusFor(code), { error: body }, opts.headers);
}

/**
 * Answers on a raw socket (an upgrade request, or a connection the HTTP parser gave up on) and
 * closes it; without a code, with the protocol status alone and no body. Headers must not carry
 * client input.
 */
export function endRaw(socket: Duplex, answer: { readonly code: ErrorCode; readonly message: string } | { readonly status: ProtocolStatus }, opts: Omit<ErrorOptions, 'field'> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const coded = 'code' in answer;
  const status = coded ? (opts.status ?? statusFor(answer.code)) : answer.status;
  const body = coded ? JSON.stringify({ error: { code: answer.code, message: answer.message } }) : '';
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    ...(body ? ['Content-Type: application/json; charset=utf-8'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
