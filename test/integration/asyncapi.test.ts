// The AsyncAPI document: served at GET /asyncapi.json (token required, like the other read-only
// routes), valid for @asyncapi/parser (which refuses a broken one), equal to the committed file,
// with one message per event type of EVENT_SCHEMAS whose payload is the committed event schema
// (also served at GET /schemas/events/<type>.json), and the events a real WebSocket receives
// validate against the document's own payloads.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { Parser } from '@asyncapi/parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS } from '../../src/core/event-schemas.js';
import { EventClient, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir, repoRoot } from '../helpers/media.js';

type Json = Record<string, unknown>;
const TOKEN = 'open-sesame-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let d: RunningDaemon;
let doc: Json;

/**
 * A request on a connection of its own: the parser blocks the event loop for seconds, long enough
 * for a kept-alive socket of fetch's pool to be closed by the server as it is reused (ECONNRESET).
 */
function fresh(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; json: () => unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The parser's errors (severity 0), as `code at path: message`. */
async function parserErrors(document: Json): Promise<string[]> {
  const { diagnostics } = await new Parser().parse(structuredClone(document) as never);
  return diagnostics.filter((x) => x.severity === 0).map((x) => `${String(x.code)} at ${x.path.join('/')}: ${x.message}`);
}

beforeAll(async () => {
  d = await startDaemon({ auth: { token: TOKEN }, files: { roots: [mediaDir] }, streams: [{ id: 'cam', url: media('single_face.mp4'), realtime: true, loop: true }] });
  const res = await fetch(`${d.base}/asyncapi.json`, { headers: auth });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as Json;
});
afterAll(() => d?.close());

describe('AsyncAPI document', () => {
  it('GET /asyncapi.json is an AsyncAPI 3 document @asyncapi/parser accepts, equal to docs/api/asyncapi.json, and needs the token', async () => {
    expect(doc.asyncapi).toMatch(/^3\./);
    expect(await parserErrors(doc)).toEqual([]);
    expect(doc).toEqual(JSON.parse(readFileSync(path.join(repoRoot, 'docs', 'api', 'asyncapi.json'), 'utf8')));
    expect((await fresh(`${d.base}/asyncapi.json`)).status).toBe(401);
  });

  it('the parser refuses a broken document (the check can fail)', async () => {
    const noChannel = structuredClone(doc) as { channels: Json };
    delete noChannel.channels.events;
    expect((await parserErrors(noChannel)).join('\n')).toMatch(/operations\/sendEvents/);
    const badAddress = structuredClone(doc) as { channels: Record<string, Json> };
    badAddress.channels.events!.address = 42;
    expect((await parserErrors(badAddress)).join('\n')).toMatch(/address/);
    expect(await parserErrors({ ...doc, asyncapi: '3.0.0', info: { title: 'x' } })).not.toEqual([]);
  });

  it('has the WebSocket with its query parameters and auth, a channel per broker kind, and the control topics with replies', () => {
    const channels = doc.channels as Record<string, Json>;
    const ws = channels.events!;
    expect(ws.address).toBe('/v1/events');
    const query = ((ws.bindings as Json).ws as { query: { properties: Json } }).query.properties;
    expect(Object.keys(query).sort()).toEqual(['streams', 'token', 'types']);
    const security = ((doc.servers as Record<string, Json>).daemon!.security as Json[]).map((s) => s.$ref);
    expect(security).toEqual(['#/components/securitySchemes/bearer', '#/components/securitySchemes/queryToken']);
    expect(channels.mqttEvents!.address).toBe('affect/{stream}/{type}');
    expect(channels.natsEvents!.address).toBe('affect.{stream}.{type}');
    expect(channels.redisEvents!.address).toBe('affect:{stream}');
    const ops = doc.operations as Record<string, Json>;
    expect((ops.receiveMqttControl!.reply as Json).channel).toEqual({ $ref: '#/channels/mqttControlReply' });
    expect(channels.mqttControlReply!.address).toBe('{controlTopic}/reply');
    expect(channels.natsControlReply!.address).toBe('{controlTopic}.reply');
    const command = ((doc.components as Json).schemas as Record<string, { oneOf?: Json[]; anyOf?: Json[] }>).ControlCommand!;
    const ops_ = (command.oneOf ?? command.anyOf ?? []).map((b) => ((b.properties as Json).op as Json).const).sort();
    expect(ops_).toEqual(['add', 'list', 'remove', 'restart']);
  });

  it('every event type of the code is a message of every event channel, its payload the committed schema, also served at /schemas/events/<type>.json', async () => {
    const typesInCode = Object.keys(EVENT_SCHEMAS).sort();
    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    for (const channel of ['events', 'mqttEvents', 'natsEvents', 'redisEvents']) {
      const names = Object.keys(((doc.channels as Record<string, Json>)[channel]!.messages as Json)).map((n) => n.replace(/Event$/, '')).sort();
      expect(names, channel).toEqual(typesInCode);
    }
    for (const t of typesInCode) {
      const committed = JSON.parse(readFileSync(path.join(repoRoot, 'docs', 'api', 'events', `${t}.schema.json`), 'utf8')) as Json;
      expect(schemas[`${t}Event`], t).toEqual(committed);
      const served = await fresh(`${d.base}/schemas/events/${t}.json`, auth);
      expect(served.status, t).toBe(200);
      expect(served.json()).toEqual(committed);
    }
    expect((await fresh(`${d.base}/schemas/events/stream.json`)).status).toBe(401);
    const unknown = await fresh(`${d.base}/schemas/events/nope.json`, auth);
    expect(unknown.status).toBe(404);
    expect((unknown.json() as { error: { code: string } }).error.code).toBe('VA_ERR_NOT_FOUND');
  });

  it("the events a real WebSocket receives validate against the document's own message payloads", async () => {
    const client = await EventClient.connect(`${d.ws}?token=${TOKEN}`);
    try {
      // A restart while subscribed: stream, track and faces events all arrive in this test.
      expect((await fresh(`${d.base}/v1/streams/cam/restart`, auth, 'POST')).status).toBe(200);
      await client.waitFor((m) => m.type === 'track' && m.state === 'started', 30_000);
      await client.waitFor((m) => m.type === 'faces' && (m.faces as unknown[]).length > 0, 30_000);
      const ajv = new Ajv2020({ allErrors: true, strict: false });
      formats.default(ajv);
      const schemas = (doc.components as Json).schemas as Record<string, Json>;
      const seen = new Set<string>();
      for (const m of client.messages) {
        const validate = ajv.getSchema(String((schemas[`${String(m.type)}Event`] as Json).$id)) ?? ajv.compile(schemas[`${String(m.type)}Event`]!);
        expect(validate(m) ? [] : validate.errors, JSON.stringify(m).slice(0, 200)).toEqual([]);
        seen.add(String(m.type));
      }
      expect([...seen]).toEqual(expect.arrayContaining(['stream', 'faces', 'track']));
    } finally {
      client.close();
    }
  });
});
