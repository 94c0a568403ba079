import { z } from 'zod';
import { AnalyticsError, ErrorCodes, asAnalyticsError } from '../core/errors.js';
import type { StreamInfo, StreamSupervisor } from '../supervisor/stream-supervisor.js';
import { STATUS_FOR_CODE } from './http-errors.js';
import { createStreamPayload, firstProblem } from './stream-payload.js';

/** Stream control as a message (broker control topics): the HTTP API's operations, same checks. */
const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('add'), requestId: z.string().max(128).optional(), stream: z.unknown() }),
  z.strictObject({ op: z.literal('remove'), requestId: z.string().max(128).optional(), id: z.string().min(1).max(64) }),
  z.strictObject({ op: z.literal('restart'), requestId: z.string().max(128).optional(), id: z.string().min(1).max(64) }),
  z.strictObject({ op: z.literal('list'), requestId: z.string().max(128).optional() }),
]);

export interface CommandReply {
  readonly ok: boolean;
  /** The HTTP status the same request would have got. */
  readonly status: number;
  readonly requestId?: string;
  readonly stream?: StreamInfo;
  readonly streams?: readonly StreamInfo[];
  readonly error?: { readonly code: string; readonly message: string; readonly field?: string };
}

const failure = (status: number, code: string, message: string, requestId: string | undefined, field?: string): CommandReply => ({
  ok: false,
  status,
  ...(requestId !== undefined ? { requestId } : {}),
  error: { code, message, ...(field !== undefined ? { field } : {}) },
});

/** Parses a command's bytes (at most `maxBytes`) and runs it against the supervisor; never throws. */
export async function runStreamCommand(supervisor: StreamSupervisor, bytes: Uint8Array, maxBytes: number): Promise<CommandReply> {
  if (bytes.byteLength > maxBytes) return failure(413, ErrorCodes.PAYLOAD_TOO_LARGE, `command larger than ${maxBytes} bytes`, undefined);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return failure(400, ErrorCodes.BAD_REQUEST, 'command is not UTF-8 JSON', undefined, '(body)');
  }
  const parsed = commandSchema.safeParse(raw);
  if (!parsed.success) {
    const p = firstProblem(parsed.error);
    return failure(400, ErrorCodes.BAD_REQUEST, p.message, undefined, p.field);
  }
  const cmd = parsed.data;
  const rid = cmd.requestId;
  const ok = (status: number, extra: Partial<CommandReply>): CommandReply => ({ ok: true, status, ...(rid !== undefined ? { requestId: rid } : {}), ...extra });
  try {
    switch (cmd.op) {
      case 'list':
        return ok(200, { streams: supervisor.list() });
      case 'remove':
        return (await supervisor.remove(cmd.id)) ? ok(204, {}) : failure(404, ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(cmd.id)}`, rid);
      case 'restart': {
        const info = await supervisor.restart(cmd.id);
        return info ? ok(200, { stream: info }) : failure(404, ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(cmd.id)}`, rid);
      }
      case 'add': {
        const body = cmd.stream;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return failure(400, ErrorCodes.BAD_REQUEST, 'stream must be a JSON object', rid, 'stream');
        const s = createStreamPayload.safeParse(body);
        if (!s.success) {
          const p = firstProblem(s.error);
          return failure(400, ErrorCodes.BAD_REQUEST, p.message, rid, `stream.${p.field}`);
        }
        if (supervisor.has(s.data.id)) return failure(409, ErrorCodes.CONFLICT, `stream ${s.data.id} already exists`, rid, 'stream.id');
        supervisor.vetApiUrl(s.data.url);
        return ok(201, { stream: await supervisor.add(s.data, 'api') });
      }
    }
  } catch (err) {
    const e = asAnalyticsError(err);
    const status = e instanceof AnalyticsError && e.code === ErrorCodes.LIMIT ? 429 : (STATUS_FOR_CODE[e.code] ?? 500);
    return failure(status, e.code, e.message, rid);
  }
}
