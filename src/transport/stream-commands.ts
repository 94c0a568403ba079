import { z } from 'zod';
import { AnalyticsError, ErrorCodes, type ErrorCode } from '../core/errors.js';
import { streamInfoSchema } from '../supervisor/stream-info.js';
import { WHOLE_PAYLOAD, addStream, concerning } from './add-stream.js';
import { errorAnswer } from './http-errors.js';
import type { StreamApi } from './stream-api.js';
import { firstProblem } from './stream-payload.js';

/** Stream control as a message (broker control topics): the HTTP API's operations, same checks. */
export const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('add'), requestId: z.string().max(128).optional(), stream: z.unknown() }),
  z.strictObject({ op: z.literal('remove'), requestId: z.string().max(128).optional(), id: z.string().min(1).max(64) }),
  z.strictObject({ op: z.literal('restart'), requestId: z.string().max(128).optional(), id: z.string().min(1).max(64) }),
  z.strictObject({ op: z.literal('list'), requestId: z.string().max(128).optional() }),
]);

/** The reply to one command (the control topics' replies; the AsyncAPI document is written from it). */
export const commandReplySchema = z
  .strictObject({
    ok: z.boolean().describe('The command ran.'),
    status: z.int().min(100).describe('The HTTP status the same request would have got.'),
    requestId: z.string().max(128).exactOptional().describe("The command's requestId, when it had one."),
    stream: streamInfoSchema.exactOptional().describe('add, restart: the stream.'),
    streams: z.array(streamInfoSchema).readonly().exactOptional().describe('list: every stream.'),
    error: z
      .strictObject({
        code: z.enum(Object.values(ErrorCodes) as [ErrorCode, ...ErrorCode[]]).describe('Stable error code (docs/errors.md).'),
        message: z.string().describe('What went wrong, in words.'),
        field: z.string().exactOptional().describe('The field of the command the error concerns (`(body)`: the command as a whole).'),
      })
      .readonly()
      .exactOptional()
      .describe('Why the command was refused or failed (ok false).'),
  })
  .readonly()
  .meta({ title: 'control reply', description: 'The reply to one control command: the HTTP API\'s status and envelope.' });

export type CommandReply = z.infer<typeof commandReplySchema>;

/** A field of the stream payload, as a path in the command (the payload is its `stream`). */
const inCommand = (field: string): string => (field === WHOLE_PAYLOAD ? 'stream' : `stream.${field}`);

/** The reply to a refused or failed command: the HTTP API's envelope and status. */
export function refusedReply(err: unknown, requestId?: string, at?: (field: string) => string): CommandReply {
  const { status, error } = errorAnswer(err, at);
  return { ok: false, status, ...(requestId !== undefined ? { requestId } : {}), error };
}

const noStream = (id: string): AnalyticsError => new AnalyticsError(ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(id)}`);

/** Parses a command's bytes (at most `maxBytes`) and runs it against the supervisor; never throws. */
export async function runStreamCommand(supervisor: StreamApi, bytes: Uint8Array, maxBytes: number): Promise<CommandReply> {
  if (bytes.byteLength > maxBytes) return refusedReply(new AnalyticsError(ErrorCodes.PAYLOAD_TOO_LARGE, `command larger than ${maxBytes} bytes`));
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return refusedReply(concerning(new AnalyticsError(ErrorCodes.BAD_REQUEST, 'command is not UTF-8 JSON'), WHOLE_PAYLOAD));
  }
  const parsed = commandSchema.safeParse(raw);
  if (!parsed.success) {
    const p = firstProblem(parsed.error);
    return refusedReply(concerning(new AnalyticsError(ErrorCodes.BAD_REQUEST, p.message), p.field));
  }
  const cmd = parsed.data;
  const rid = cmd.requestId;
  const ok = (status: number, extra: Partial<CommandReply>): CommandReply => ({ ok: true, status, ...(rid !== undefined ? { requestId: rid } : {}), ...extra });
  try {
    switch (cmd.op) {
      case 'list':
        return ok(200, { streams: supervisor.list() });
      case 'remove':
        if (!(await supervisor.remove(cmd.id))) throw noStream(cmd.id);
        return ok(204, {});
      case 'restart': {
        const info = await supervisor.restart(cmd.id);
        if (!info) throw noStream(cmd.id);
        return ok(200, { stream: info });
      }
      case 'add':
        try {
          return ok(201, { stream: await addStream(supervisor, cmd.stream) });
        } catch (err) {
          return refusedReply(err, rid, inCommand);
        }
    }
  } catch (err) {
    return refusedReply(err, rid);
  }
}
