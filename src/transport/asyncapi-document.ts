/**
 * The AsyncAPI 3 document of the daemon's event channels, built from the code that has the shapes:
 * the event schemas (core/event-schemas.ts, one message per type, so a type added there appears
 * here), the brokers' default topic templates (config/sink-schema.ts), and the control topics'
 * command and reply schemas (stream-commands.ts). Served at GET /asyncapi.json and committed as
 * docs/api/asyncapi.json by `npm run docs` (test/lint/docs.test.ts fails on drift).
 */
import { DEFAULT_TOPICS, type SinkKind } from '../config/sink-schema.js';
import { EVENT_SCHEMAS, EVENT_SCHEMA_VERSION, eventJsonSchema, type EventSchemaType } from '../core/event-schemas.js';
import { ErrorCodes } from '../core/errors.js';
import { componentSchema } from './component-schema.js';
import { PROTOCOL_STATUS, STATUS_FOR_CODE } from './http-errors.js';
import { commandReplySchema, commandSchema } from './stream-commands.js';
import { createStreamPayload } from './stream-payload.js';

type Json = Record<string, unknown>;

export const ASYNCAPI_PATH = '/asyncapi.json';
/** Where the daemon serves one event type's JSON Schema (the same file as docs/api/events/). */
export const EVENT_SCHEMA_PATH = /^\/schemas\/events\/([^/]+)\.json$/;
export const EVENT_SCHEMA_TEMPLATE = '/schemas/events/{type}.json';

const ref = (to: string): Json => ({ $ref: `#/${to}` });
const types = (): EventSchemaType[] => Object.keys(EVENT_SCHEMAS) as EventSchemaType[];
const messageName = (type: string): string => `${type}Event`;
const eventMessages = (): Json => Object.fromEntries(types().map((t) => [messageName(t), ref(`components/messages/${messageName(t)}`)]));
const channelMessages = (channel: string): Json[] => types().map((t) => ref(`channels/${channel}/messages/${messageName(t)}`));

const BROKER_NAMES: Readonly<Record<SinkKind, string>> = { mqtt: 'MQTT', nats: 'NATS', redis: 'Redis Streams' };

/** How the stream id goes into a topic of each kind (formatTopic in sinks/topic.ts). */
const STREAM_IN_TOPIC: Readonly<Record<SinkKind, string>> = {
  mqtt: 'The stream id, as it is.',
  nats: 'The stream id with every `.` as `_` (a dot separates NATS subject tokens).',
  redis: 'The stream id, as it is.',
};

function brokerChannel(kind: SinkKind): Json {
  const template = DEFAULT_TOPICS[kind];
  const params: Json = { stream: { description: STREAM_IN_TOPIC[kind] } };
  if (template.includes('{type}')) params.type = { enum: types(), description: 'The event type.' };
  const where =
    kind === 'redis'
      ? 'Each event is one entry (XADD, MAXLEN ~ sinks[].maxLen) of the Redis stream at this key, its JSON in the entry field `event`.'
      : kind === 'nats'
        ? 'Core NATS, or JetStream (sinks[].jetstream, the default: at-least-once, each message with a Nats-Msg-Id header for de-duplication).'
        : 'At QoS sinks[].qos (default 1, at-least-once).';
  return {
    address: template,
    title: `${BROKER_NAMES[kind]} events`,
    description:
      `The events of a sink of kind ${kind}, on the topic template sinks[].topic (this is its default), with {stream} and {type} filled in. ${where} ` +
      `Every message carries "schemaVersion": ${EVENT_SCHEMA_VERSION} (a message may be read long after it was written). sinks[].types and sinks[].streams narrow what is published.`,
    servers: [ref(`servers/${kind}`)],
    parameters: params,
    messages: eventMessages(),
  };
}

const controlTopic: Json = { controlTopic: { description: 'sinks[].control.topic, with {instance} replaced by cluster.instanceId (in NATS with `.` as `_`); there is no default: control is off unless configured.' } };

function controlChannels(kind: 'mqtt' | 'nats'): Json {
  const reply = kind === 'mqtt' ? '{controlTopic}/reply' : '{controlTopic}.reply';
  return {
    [`${kind}Control`]: {
      address: '{controlTopic}',
      title: `${BROKER_NAMES[kind]} stream control`,
      description:
        'Stream commands, run one at a time in arrival order with the HTTP API\'s checks and limits (at most 16 waiting; beyond that, and for a command over server.maxBodyBytes, the reply is a refusal). ' +
        'Whoever may publish here controls the streams: protect the topic with the broker\'s authentication and ACLs.',
      servers: [ref(`servers/${kind}`)],
      parameters: controlTopic,
      messages: { command: ref('components/messages/controlCommand') },
    },
    [`${kind}ControlReply`]: {
      address: reply,
      title: `${BROKER_NAMES[kind]} stream control replies`,
      description:
        kind === 'mqtt'
          ? 'One reply per command, at QoS 1.'
          : "One reply per command: to the request's reply subject (NATS request/reply), or to this subject when the command had none.",
      servers: [ref(`servers/${kind}`)],
      parameters: controlTopic,
      messages: { reply: ref('components/messages/controlReply') },
    },
  };
}

/** The command schema with the add command's `stream` as the POST /v1/streams body it is. */
function commandPayload(): Json {
  const schema = componentSchema(commandSchema, 'input');
  for (const branch of (schema.oneOf ?? schema.anyOf ?? []) as Json[]) {
    const props = branch.properties as Record<string, Json> | undefined;
    if (props?.stream !== undefined) props.stream = { ...ref('components/schemas/StreamPayload'), description: 'The stream to add: the body of POST /v1/streams.' };
  }
  return { ...schema, title: 'control command', description: 'One stream command: add, remove, restart or list; requestId comes back in the reply.' };
}

function brokerServer(kind: SinkKind, port: number): Json {
  return {
    host: '{broker}',
    protocol: kind,
    title: `${BROKER_NAMES[kind]} broker`,
    description: `The broker of a sink of kind ${kind} (sinks[].url; its credentials and TLS from the sink's settings).`,
    variables: { broker: { default: `localhost:${port}`, description: 'Host and port of sinks[].url.' } },
  };
}

let built: Json | undefined;

/** The document, built once per process (~40 ms of JSON Schema generation; it cannot change while the daemon runs). */
export function asyncApiDocument(): Json {
  built ??= buildDocument();
  return built;
}

function buildDocument(): Json {
  const messages: Json = {};
  const schemas: Json = {};
  for (const t of types()) {
    const schema = eventJsonSchema(t);
    schemas[messageName(t)] = schema;
    messages[messageName(t)] = {
      name: t,
      title: String(schema.title ?? `${t} event`),
      summary: String(schema.description ?? ''),
      description: `JSON Schema ${String(schema.$id)}: docs/api/events/${t}.schema.json, served at GET /schemas/events/${t}.json.`,
      contentType: 'application/json',
      payload: ref(`components/schemas/${messageName(t)}`),
    };
  }
  messages.controlCommand = { name: 'command', title: 'control command', contentType: 'application/json', payload: ref('components/schemas/ControlCommand') };
  messages.controlReply = { name: 'reply', title: 'control reply', contentType: 'application/json', payload: ref('components/schemas/ControlReply') };
  schemas.ControlCommand = commandPayload();
  schemas.ControlReply = componentSchema(commandReplySchema, 'output');
  schemas.StreamPayload = componentSchema(createStreamPayload, 'input');

  const filter = (what: string): Json => ({ type: 'string', pattern: '^[^,]+(,[^,]+)*$', description: what });
  const send = (channel: string, summary: string): Json => ({ action: 'send', channel: ref(`channels/${channel}`), summary, messages: channelMessages(channel) });

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'affect-daemon events',
      version: String(EVENT_SCHEMA_VERSION),
      description:
        `The events the daemon publishes, on its WebSocket and on the brokers of its sinks, and stream control over MQTT and NATS. The version is the event schemas' (schemaVersion ${EVENT_SCHEMA_VERSION}): it moves on any change of shape. ` +
        'HTTP routes: docs/api/openapi.json; the event schemas: docs/api/events/.',
    },
    defaultContentType: 'application/json',
    servers: {
      daemon: {
        host: '127.0.0.1:8080',
        protocol: 'ws',
        title: 'The daemon',
        description: 'server.host and server.port; wss when TLS terminates in front of it. Host and Origin must be allowed (server.allowedHosts, server.allowedOrigins).',
        security: [ref('components/securitySchemes/bearer'), ref('components/securitySchemes/queryToken')],
      },
      mqtt: brokerServer('mqtt', 1883),
      nats: brokerServer('nats', 4222),
      redis: brokerServer('redis', 6379),
    },
    channels: {
      events: {
        address: '/v1/events',
        title: 'Event WebSocket',
        description:
          `One JSON event per text message, without schemaVersion (the connection is to the running daemon). Refused before the upgrade with the HTTP API's JSON error: ${STATUS_FOR_CODE[ErrorCodes.BAD_REQUEST]} (empty or unknown streams=/types=), ${STATUS_FOR_CODE[ErrorCodes.UNAUTHORIZED]} (token), ${STATUS_FOR_CODE[ErrorCodes.HOST_FORBIDDEN]} (Host, Origin), ${PROTOCOL_STATUS.unavailable} (server.maxWsClients reached, no body). ` +
          'A client that stays behind loses its own messages (server.wsQueueMessages) and is closed with 1008 after server.wsMaxBehindMs; shutdown closes with 1001; a client that does not answer pings (server.wsPingMs) is cut off. Messages from clients are ignored.',
        servers: [ref('servers/daemon')],
        messages: eventMessages(),
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              additionalProperties: false,
              properties: {
                streams: filter('Comma-separated stream ids; absent = every stream.'),
                types: { ...filter(`Comma-separated event types (${types().join(', ')}); absent = every type.`) },
                token: { type: 'string', description: 'The bearer token, for clients that cannot set headers (browsers).' },
              },
            },
            headers: { type: 'object', properties: { Authorization: { type: 'string', pattern: '^Bearer .+$', description: 'Bearer server.token (auth.token).' } } },
            bindingVersion: '0.1.0',
          },
        },
      },
      mqttEvents: brokerChannel('mqtt'),
      natsEvents: brokerChannel('nats'),
      redisEvents: brokerChannel('redis'),
      ...controlChannels('mqtt'),
      ...controlChannels('nats'),
    },
    operations: {
      sendEvents: send('events', 'The daemon sends the events a client subscribed to.'),
      sendMqttEvents: send('mqttEvents', 'An MQTT sink publishes events.'),
      sendNatsEvents: send('natsEvents', 'A NATS sink publishes events.'),
      sendRedisEvents: send('redisEvents', 'A Redis sink appends events to its streams.'),
      ...Object.fromEntries(
        (['mqtt', 'nats'] as const).map((k) => [
          `receive${k === 'mqtt' ? 'Mqtt' : 'Nats'}Control`,
          {
            action: 'receive',
            channel: ref(`channels/${k}Control`),
            summary: `The daemon runs stream commands from the ${BROKER_NAMES[k]} control topic.`,
            messages: [ref(`channels/${k}Control/messages/command`)],
            reply: { channel: ref(`channels/${k}ControlReply`), messages: [ref(`channels/${k}ControlReply/messages/reply`)] },
          },
        ]),
      ),
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <server token> (auth.token); required when it is set.' },
        queryToken: { type: 'httpApiKey', in: 'query', name: 'token', description: 'The same token as ?token= (WebSocket only: browsers cannot set headers on one).' },
      },
      messages,
      schemas,
    },
  };
}
