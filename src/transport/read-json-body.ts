import type { IncomingMessage } from 'node:http';
import { AnalyticsError, ErrorCodes, TransportError } from '../core/errors.js';

/**
 * Reads a JSON body with a hard size cap; errors carry VA_ERR_BAD_REQUEST or PAYLOAD_TOO_LARGE.
 * A client that goes away mid-body gives a TransportError with `context.aborted` (not a server
 * failure: logged at debug by the caller).
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new AnalyticsError(ErrorCodes.PAYLOAD_TOO_LARGE, `request body over ${maxBytes} bytes`);
  }
  // The body as a whole is what is wrong (the field of the answer, and a `malformed` refusal).
  const notJson = (message: string, cause?: unknown): AnalyticsError => new AnalyticsError(ErrorCodes.BAD_REQUEST, message, { cause, context: { field: '(body)' } });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw new AnalyticsError(ErrorCodes.PAYLOAD_TOO_LARGE, `request body over ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof AnalyticsError) throw err;
    throw new TransportError(ErrorCodes.TRANSPORT, 'client aborted the request body', { cause: err, context: { aborted: true } });
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw notJson('request body is empty; expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw notJson(`request body is not valid JSON: ${(err as Error).message}`, err);
  }
}
