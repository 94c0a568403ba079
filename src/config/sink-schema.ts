import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../core/records.js';

export type SinkKind = 'mqtt' | 'nats' | 'redis';

/** Where each broker kind puts an event unless configured otherwise. */
export const DEFAULT_TOPICS: Readonly<Record<SinkKind, string>> = {
  mqtt: 'affect/{stream}/{type}',
  nats: 'affect.{stream}.{type}',
  redis: 'affect:{stream}',
};

/** The problem with a topic template for a broker kind, or undefined when it is usable. */
export function topicProblem(template: string, kind: SinkKind): string | undefined {
  const rest = template.replaceAll('{stream}', 'x').replaceAll('{type}', 'x');
  if (/[{}]/.test(rest)) return 'only the placeholders {stream} and {type} are known';
  if (kind === 'mqtt' && /[+#\u0000]/.test(rest)) return 'MQTT topics to publish on may not contain + or #';
  if (kind === 'nats' && (/[\s*>]/.test(rest) || rest.startsWith('.') || rest.endsWith('.') || rest.includes('..'))) {
    return 'NATS subjects may not contain whitespace, * or >, nor empty tokens';
  }
  if (rest.length === 0) return 'empty topic';
  return undefined;
}

const tls = z.strictObject({
  /** PEM files. */
  ca: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  rejectUnauthorized: z.boolean().default(true),
});

const common = {
  /** Names the sink in metrics (`sink` label) and logs. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'must match [A-Za-z0-9][A-Za-z0-9_-]{0,31}'),
  url: z.string().min(1).max(4096),
  /** Topic / subject / stream key template with {stream} and {type}; default per broker kind. */
  topic: z.string().min(1).max(512).optional(),
  /** Event types to publish (default: all). */
  types: z.array(z.enum(EVENT_TYPES as [EventType, ...EventType[]])).min(1).optional(),
  /** Stream ids to publish (default: all). */
  streams: z.array(z.string().min(1)).min(1).optional(),
  /** Messages kept while the broker is slow or away; beyond it the oldest are dropped (va_sink_dropped_total). */
  bufferMessages: z.number().int().min(1).max(10_000_000).default(10_000),
  maxInFlight: z.number().int().min(1).max(10_000).default(256),
  ackTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  connectTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
  flushTimeoutMs: z.number().int().min(0).max(60_000).default(2_000),
  reconnect: z
    .strictObject({
      initialDelayMs: z.number().int().min(10).max(600_000).default(500),
      maxDelayMs: z.number().int().min(10).max(3_600_000).default(30_000),
    })
    .prefault({}),
};

export const sinkSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('mqtt'),
      ...common,
      /** 1 = at-least-once (PUBACK), 2 = exactly-once handshake, 0 = fire and forget. */
      qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
      /** 4 = MQTT 3.1.1, 5 = MQTT 5. */
      protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
      clientId: z.string().min(1).max(128).optional(),
      /** Stream control commands (add/remove/restart/list) on this topic ({instance}: this instance's cluster id); absent = off. */
      control: z.strictObject({ topic: z.string().min(1).max(512) }).optional(),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      tls: tls.optional(),
    }),
    z.strictObject({
      kind: z.literal('nats'),
      ...common,
      user: z.string().min(1).optional(),
      pass: z.string().min(1).optional(),
      token: z.string().min(1).optional(),
      /** Stream control commands (add/remove/restart/list) on this topic ({instance}: this instance's cluster id); absent = off. */
      control: z.strictObject({ topic: z.string().min(1).max(512) }).optional(),
      /** JetStream storage for at-least-once delivery; null = core NATS (at-most-once). */
      jetstream: z
        .strictObject({
          stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('AFFECT'),
          /** Subjects the stream captures (default: the topic template with its placeholders as `*`). */
          subjects: z.array(z.string().min(1)).min(1).optional(),
          storage: z.enum(['file', 'memory']).default('file'),
          maxAgeMs: z.number().int().min(0).default(24 * 3600 * 1000),
        })
        .nullable()
        .prefault({}),
      tls: tls.omit({ rejectUnauthorized: true }).optional(),
    }),
    z.strictObject({
      kind: z.literal('redis'),
      ...common,
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      /** Approximate cap on each Redis stream's length (XADD MAXLEN ~). */
      maxLen: z.number().int().min(1).default(100_000),
      tls: tls.optional(),
    }),
  ])
  .superRefine((s, ctx) => {
    const schemes: Record<SinkKind, readonly string[]> = { mqtt: ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:'], nats: ['nats:', 'tls:'], redis: ['redis:', 'rediss:'] };
    let scheme: string | undefined;
    try {
      scheme = new URL(s.url).protocol.toLowerCase();
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `not a URL (expected ${schemes[s.kind].map((x) => `${x}//…`).join(' or ')})` });
      return;
    }
    if (!schemes[s.kind].includes(scheme)) ctx.addIssue({ code: 'custom', path: ['url'], message: `scheme ${scheme} is not one of ${schemes[s.kind].join(', ')} for a ${s.kind} sink` });
    const problem = topicProblem(s.topic ?? DEFAULT_TOPICS[s.kind], s.kind);
    if (problem) ctx.addIssue({ code: 'custom', path: ['topic'], message: problem });
    else if (s.kind === 'nats' && s.jetstream !== null && s.jetstream.subjects === undefined) {
      // The stream's subjects are the template with each placeholder as `*`, a wildcard only as a
      // whole token: `cam-*.*` is taken literally, no publish matches it and every one fails (503).
      const tokens = (s.topic ?? DEFAULT_TOPICS.nats).split('.');
      if (tokens.some((t) => /\{(stream|type)\}/.test(t) && t !== '{stream}' && t !== '{type}')) {
        ctx.addIssue({ code: 'custom', path: ['topic'], message: 'each placeholder must be a whole token (between dots) unless jetstream.subjects is given' });
      }
    }
    if (s.kind !== 'redis' && s.control) {
      const topic = s.control.topic.replaceAll('{instance}', 'x');
      const p = /[{}]/.test(topic) ? 'the only placeholder in a control topic is {instance}' : topicProblem(topic, s.kind);
      if (p) ctx.addIssue({ code: 'custom', path: ['control', 'topic'], message: p });
    }
  });

export type SinkConfig = z.infer<typeof sinkSchema>;

/** Sinks, each name once. */
export const sinksSchema = z.array(sinkSchema).superRefine((sinks, ctx) => {
  const seen = new Set<string>();
  sinks.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate sink name ${s.name}` });
    seen.add(s.name);
  });
});
