import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { ErrorCodes, type ErrorCode } from '../core/errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, field?: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message, ...(field !== undefined ? { field } : {}) } }, headers);
}

/**
 * Answers on a raw socket (an upgrade request, or a connection the HTTP parser gave up on) and
 * closes it. Headers must not carry client input.
 */
export function endRaw(socket: Duplex, status: number, code: ErrorCode | undefined, message: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = code === undefined ? '' : JSON.stringify({ error: { code, message } });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    ...(body ? ['Content-Type: application/json; charset=utf-8'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

export const STATUS_FOR_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.SOURCE_SCHEME]: 400,
  [ErrorCodes.SOURCE_URL]: 400,
  [ErrorCodes.SOURCE_FORBIDDEN]: 403,
  [ErrorCodes.HOST_FORBIDDEN]: 403,
  [ErrorCodes.ORIGIN_FORBIDDEN]: 403,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.METHOD_NOT_ALLOWED]: 405,
  [ErrorCodes.CONFLICT]: 409,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.LIMIT]: 429,
};
