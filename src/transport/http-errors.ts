import type { ServerResponse } from 'node:http';
import { ErrorCodes, type ErrorCode } from '../core/errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, field?: string): void {
  sendJson(res, status, { error: { code, message, ...(field !== undefined ? { field } : {}) } });
}

export const STATUS_FOR_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.SOURCE_SCHEME]: 400,
  [ErrorCodes.SOURCE_URL]: 400,
  [ErrorCodes.SOURCE_FORBIDDEN]: 403,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.CONFLICT]: 409,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.LIMIT]: 429,
};
