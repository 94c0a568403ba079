/**
 * The broker channels as a consumer reads them: a message that arrived on a broker is checked
 * against the committed docs/api/asyncapi.json: the channel of its sink kind names its event type
 * as a message, and its topic / subject / stream key is that channel's address with the event's
 * {stream} and {type} filled in. Sink tests with the default topic templates run their messages
 * through it, so a change of the templates or of the document fails them (setup.ts, like events).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { recordContractViolation } from './contract-violations.js';
import { repoRoot } from './media.js';

export type BrokerKind = 'mqtt' | 'nats' | 'redis';

interface Channel {
  readonly address: string;
  readonly messages: Record<string, unknown>;
}

let channels: Record<string, Channel> | undefined;

/** The problem with where a broker message arrived, or undefined when the document agrees. */
export function brokerAddressProblem(kind: BrokerKind, address: string, json: string): string | undefined {
  channels ??= (JSON.parse(readFileSync(path.join(repoRoot, 'docs', 'api', 'asyncapi.json'), 'utf8')) as { channels: Record<string, Channel> }).channels;
  const channel = channels[`${kind}Events`];
  if (!channel) return `docs/api/asyncapi.json has no channel ${kind}Events`;
  let event: { type?: unknown; streamId?: unknown };
  try {
    event = JSON.parse(json) as typeof event;
  } catch {
    return `${kind} message on ${address}: not JSON`;
  }
  if (typeof event.type !== 'string' || typeof event.streamId !== 'string') return `${kind} message on ${address}: no type and streamId`;
  if (!Object.hasOwn(channel.messages, `${event.type}Event`)) return `${kind} message on ${address}: channel ${kind}Events has no message ${event.type}Event`;
  const stream = kind === 'nats' ? event.streamId.replaceAll('.', '_') : event.streamId;
  const expected = channel.address.replaceAll('{stream}', stream).replaceAll('{type}', event.type);
  return expected === address ? undefined : `${kind} message on ${address}: the AsyncAPI channel ${kind}Events (${channel.address}) puts this ${event.type} event of ${event.streamId} on ${expected}`;
}

/** For broker handlers: records a disagreement instead of throwing into the client library. */
export function recordIfMisaddressed(kind: BrokerKind, address: string, json: string): void {
  const problem = brokerAddressProblem(kind, address, json);
  if (problem !== undefined) recordContractViolation(problem);
}
