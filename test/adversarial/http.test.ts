/**
 * Hostile HTTP and WebSocket clients against a real daemon on loopback. Every case is followed by
 * `check()`: the daemon still answers, the witness stream still runs, nothing leaked.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { asStreamId } from '../../src/core/ids.js';
import type { FacesEvent } from '../../src/core/records.js';
import { media } from '../helpers/media.js';
import { WITNESS, rawExchange, startHarness, type Harness, type RawResponse } from './harness.js';

const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

function errorCode(r: RawResponse): string | undefined {
  try {
    return (JSON.parse(r.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/**
 * Sends a request head with `Expect: 100-continue` and no body, and collects what the daemon sends
 * until it closes the connection (or `timeoutMs`): a refusal must be the final answer, not an
 * invitation to upload.
 */
function expectContinue(port: number, head: string, timeoutMs = 5000): Promise<RawResponse> {
  return rawExchange(port, `${head}Expect: 100-continue\r\n\r\n`, { timeoutMs });
}

/** Sends the head, waits for 100 Continue, then sends the body; resolves with everything received. */
function continueThenBody(port: number, head: string, body: string): Promise<{ first: string; text: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    let first = '';
    const s = net.connect(port, '127.0.0.1', () => s.write(`${head}Expect: 100-continue\r\nConnection: close\r\n\r\n`));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no complete answer; got ${JSON.stringify(text)}`));
    }, 10_000);
    s.on('data', (b: Buffer) => {
      text += b.toString('latin1');
      if (first === '' && text.includes('\r\n\r\n')) {
        first = text.slice(0, text.indexOf('\r\n'));
        if (first.includes(' 100 ')) s.write(body);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ first, text });
    });
  });
}

function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', () => resolve(-1));
  });
}

describe('adversarial HTTP (no token)', () => {
  let h: Harness;
  let host: string;
  beforeAll(async () => {
    h = await startHarness();
    host = `127.0.0.1:${h.port}`;
  });
  afterAll(async () => h.close());

  it('survives request-line garbage', async () => {
    for (const junk of [
      'GARBAGE\r\n\r\n',
      'GET\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      '\x00\x01\x02\xff\xfe\r\n\r\n',
      'GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    ]) {
      const r = await h.raw(junk);
      expect([400, undefined], JSON.stringify(junk)).toContain(r.status);
    }
    await h.check('request-line garbage');
  });

  it('answers unparsable request targets with 400', async () => {
    for (const target of ['//[', '//[/v1/streams', 'http://[', '*', '/v1/streams/%E0%A4%A', '/%', '/v1/streams/%/restart', '/%zz/healthz']) {
      for (const method of ['GET', 'DELETE', 'POST']) {
        const r = await h.raw(`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        expect(r.status, `${method} ${target}`).toBe(400);
        expect(errorCode(r), `${method} ${target}`).toBe('VA_ERR_BAD_REQUEST');
      }
    }
    await h.check('bad targets');
  });

  it('survives WebSocket upgrades with unparsable targets (the crash of defect 1)', async () => {
    for (const target of ['//[', '//[/v1/events', 'http://[', '/v1/events%', '/%E0%A4%A']) {
      const r = await h.raw(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`);
      expect(r.status, target).toBe(400);
    }
    await h.check('upgrade targets');
  });

  it('refuses hostile WebSocket upgrades', async () => {
    const cases: [string, number][] = [
      [`GET /v1/events HTTP/1.1\r\nHost: evil.example\r\n${UPGRADE}\r\n`, 403],
      [`GET /v1/events HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://evil.example\r\n${UPGRADE}\r\n`, 403],
      [`GET /v1/events HTTP/1.1\r\nHost: ${host}\r\nOrigin: null\r\n${UPGRADE}\r\n`, 403],
      [`GET /v1/events?types= HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`, 400],
      [`GET /v1/events?types=nope HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`, 400],
      [`GET /v1/events HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n`, 400],
      [`GET /v1/events HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`, 400],
      [`POST /v1/events HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`, 405],
      [`GET /v1/streams HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`, 404],
      [`GET /v1/events HTTP/1.1\r\nHost: ${host}\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n`, 400],
    ];
    for (const [req, status] of cases) {
      const r = await h.raw(req);
      expect(r.status, req.split('\r\n').slice(0, 3).join(' | ')).toBe(status);
    }
    // Same-origin and origin-less upgrades still work.
    expect(await upgradeStatus(`ws://${host}/v1/events`)).toBe(101);
    expect(await upgradeStatus(`ws://${host}/v1/events`, { origin: `http://${host}` })).toBe(101);
    expect(await upgradeStatus(`ws://localhost:${h.port}/v1/events`, { origin: `http://localhost:${h.port}` })).toBe(101);
    await h.check('upgrade attacks');
  });

  it('survives upgrades that are cut off or never finish', async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(h.port, '127.0.0.1', () => {
          s.write(`GET /v1/events HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`);
          // Reset before (or while) the 101 arrives.
          setImmediate(() => s.resetAndDestroy());
        });
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    }
    const half = await h.raw(`GET /v1/events HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n`, { timeoutMs: 300 });
    expect(half.status).toBeUndefined();
    await h.check('cut-off upgrades');
  });

  it('refuses hostile Host headers (DNS rebinding)', async () => {
    for (const bad of ['evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', 'evil.example:80', '[::2]']) {
      const r = await h.raw(`GET /v1/streams HTTP/1.1\r\nHost: ${bad}\r\nConnection: close\r\n\r\n`);
      expect(r.status, bad).toBe(403);
      expect(errorCode(r), bad).toBe('VA_ERR_HOST_FORBIDDEN');
    }
    for (const good of [host, `localhost:${h.port}`, 'LOCALHOST', `[::1]:${h.port}`, '127.0.0.1']) {
      const r = await h.raw(`GET /v1/streams HTTP/1.1\r\nHost: ${good}\r\nConnection: close\r\n\r\n`);
      expect(r.status, good).toBe(200);
    }
    // HTTP/1.0 without Host (no browser sends that) is allowed.
    expect((await h.raw('GET /healthz HTTP/1.0\r\n\r\n')).status).toBe(200);
    await h.check('hostile Host');
  });

  it('refuses cross-site state changes (Origin) and non-JSON bodies', async () => {
    const body = JSON.stringify({ id: 'xsite', url: media('single_face.mp4') });
    const post = (headers: string, b = body): Promise<RawResponse> =>
      h.raw(`POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\n${headers}Content-Length: ${Buffer.byteLength(b)}\r\nConnection: close\r\n\r\n${b}`);
    // The "simple" cross-site POST a web page can send without a preflight.
    let r = await post('Content-Type: text/plain\r\n');
    expect(r.status).toBe(415);
    expect(errorCode(r)).toBe('VA_ERR_UNSUPPORTED_MEDIA_TYPE');
    for (const ct of ['', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/json; charset=latin1']) {
      r = await post(ct ? `Content-Type: ${ct}\r\n` : '');
      expect(r.status, ct).toBe(415);
    }
    r = await post('Content-Type: application/json\r\nOrigin: http://evil.example\r\n');
    expect(r.status).toBe(403);
    expect(errorCode(r)).toBe('VA_ERR_ORIGIN_FORBIDDEN');
    r = await post('Content-Type: application/json\r\nOrigin: null\r\n');
    expect(r.status).toBe(403);
    for (const path of [`/v1/streams/witness`, `/v1/streams/witness/restart`]) {
      const method = path.endsWith('restart') ? 'POST' : 'DELETE';
      r = await h.raw(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nOrigin: https://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      expect(r.status, `${method} ${path}`).toBe(403);
    }
    expect((await h.api('GET', '/v1/streams')).status).toBe(200);
    // Same origin (a page served by the daemon itself) and no Origin (curl) are fine.
    r = await post(`Content-Type: application/json; charset=UTF-8\r\nOrigin: http://${host}\r\n`, '{"id": "bad id!"}');
    expect(r.status).toBe(400);
    r = await post('Content-Type: application/json\r\n', '{"id": "bad id!"}');
    expect(r.status).toBe(400);
    await h.check('cross-site');
  });

  it('answers bad JSON and bad payloads with 400/413', async () => {
    const bodies: [string, number][] = [
      ['{', 400],
      ['', 400],
      ['null', 400],
      ['[]', 400],
      ['"x"', 400],
      ['{"id": 1}', 400],
      ['{"id": "a", "url": "x", "__proto__": {"polluted": true}}', 400],
      ['['.repeat(30_000), 400],
      [`{"id": "a", "url": "${'x'.repeat(70_000)}"}`, 413],
      ['\xff\xfe{}', 400],
    ];
    for (const [b, status] of bodies) {
      const r = await h.raw(`POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\nConnection: close\r\n\r\n${b}`);
      expect(r.status, b.slice(0, 40)).toBe(status);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await h.check('bad JSON');
  });

  it('answers huge and numerous headers without harm', async () => {
    let r = await h.raw(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
    expect(r.status).toBe(431);
    const many = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    r = await h.raw(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n${many}\r\n\r\n`);
    expect([200, 431]).toContain(r.status);
    await h.check('huge headers');
  });

  it('answers HEAD on GET routes, and 405 with Allow', async () => {
    for (const p of ['/healthz', '/readyz', '/metrics', '/v1/streams', '/v1/streams/witness']) {
      const r = await h.raw(`HEAD ${p} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(r.status, p).toBe(200);
      expect(r.body, p).toBe('');
    }
    const cases: [string, string, string][] = [
      ['PUT', '/v1/streams', 'GET, HEAD, POST'],
      ['PATCH', '/v1/streams/witness', 'GET, HEAD, DELETE'],
      ['GET', '/v1/streams/witness/restart', 'POST'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['DELETE', '/metrics', 'GET, HEAD'],
    ];
    for (const [m, p, allow] of cases) {
      const r = await h.raw(`${m} ${p} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      expect(r.status, `${m} ${p}`).toBe(405);
      expect(r.headers.allow, `${m} ${p}`).toBe(allow);
      expect(errorCode(r)).toBe('VA_ERR_METHOD_NOT_ALLOWED');
    }
    await h.check('HEAD and 405');
  });

  it('logs an aborted request body at debug, without a stack', async () => {
    const mark = h.daemon.logs.length;
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(h.port, '127.0.0.1', () => {
          s.write(`POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"id": "a`);
          setTimeout(() => s.destroy(), 50);
        });
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    const lines = h.daemon.logs.slice(mark).map((l) => JSON.parse(l) as { level: number; msg: string; err?: { stack?: string } });
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    expect(lines.some((l) => l.level === 20 && /aborted/.test(l.msg))).toBe(true);
    expect(lines.filter((l) => l.err?.stack !== undefined)).toEqual([]);
    await h.check('aborted body');
  });

  it('decides Expect: 100-continue from the headers: a refused request is never invited to upload', async () => {
    const body = (ct = 'application/json', len = 100): string => `Content-Type: ${ct}\r\nContent-Length: ${len}\r\n`;
    const cases: [string, number, string][] = [
      [`POST /v1/streams HTTP/1.1\r\nHost: evil.example\r\n${body()}`, 403, 'VA_ERR_HOST_FORBIDDEN'],
      [`POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://evil.example\r\n${body()}`, 403, 'VA_ERR_ORIGIN_FORBIDDEN'],
      [`POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\n${body('text/plain')}`, 415, 'VA_ERR_UNSUPPORTED_MEDIA_TYPE'],
      [`POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\n${body('application/json', 100 * 1024 * 1024)}`, 413, 'VA_ERR_PAYLOAD_TOO_LARGE'],
      [`POST /v1/nowhere HTTP/1.1\r\nHost: ${host}\r\n${body()}`, 404, 'VA_ERR_NOT_FOUND'],
      [`PUT /v1/streams HTTP/1.1\r\nHost: ${host}\r\n${body()}`, 405, 'VA_ERR_METHOD_NOT_ALLOWED'],
      [`POST /%zz HTTP/1.1\r\nHost: ${host}\r\n${body()}`, 400, 'VA_ERR_BAD_REQUEST'],
    ];
    for (const [head, status, code] of cases) {
      const r = await expectContinue(h.port, head);
      const label = head.split('\r\n').slice(0, 3).join(' | ');
      expect(r.text, label).not.toContain('100 Continue');
      expect(r.status, label).toBe(status);
      expect(errorCode(r), label).toBe(code);
      // The body was never asked for: the connection is closed rather than left waiting for it.
      expect(r.closedByServer, label).toBe(true);
    }
    // A request that passes every check is invited, and then answered on its body.
    const ok = await continueThenBody(h.port, `POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\n${body('application/json', 17)}`, '{"id": "bad id!"}');
    expect(ok.first).toBe('HTTP/1.1 100 Continue');
    expect(ok.text).toMatch(/\r\n\r\nHTTP\/1\.1 400 /);
    expect(ok.text).toContain('VA_ERR_BAD_REQUEST');
    await h.check('expect 100-continue');
  });

  it('answers other Expect values with a JSON 417, and CONNECT with a JSON 405', async () => {
    for (const expectation of ['200-ok', 'something']) {
      const r = await h.raw(`POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 10\r\nExpect: ${expectation}\r\n\r\n`, { timeoutMs: 5000 });
      expect(r.status, expectation).toBe(417);
      expect(errorCode(r), expectation).toBe('VA_ERR_BAD_REQUEST');
      expect(r.closedByServer, expectation).toBe(true);
    }
    for (const target of [`127.0.0.1:${h.port}`, 'evil.example:443', '[::1]:22']) {
      const r = await h.raw(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`, { timeoutMs: 5000 });
      expect(r.status, target).toBe(405);
      expect(errorCode(r), target).toBe('VA_ERR_METHOD_NOT_ALLOWED');
      expect(r.closedByServer, target).toBe(true);
    }
    await h.check('expect and connect');
  });

  it('survives many connections opened and dropped at once', async () => {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        h.raw(i % 2 ? `GET /v1/events HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n` : `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`, { timeoutMs: 200 }),
      ),
    );
    await h.check('connection burst');
  });
});

describe('adversarial HTTP (with a token)', () => {
  const TOKEN = 'adversarial-token-0123456789';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { auth: { token: TOKEN } } });
  });
  afterAll(async () => h.close());

  it('refuses Expect: 100-continue without the token before the body is sent', async () => {
    const host = `127.0.0.1:${h.port}`;
    for (const auth of ['', 'Authorization: Bearer wrong-token-0123456789\r\n']) {
      const r = await expectContinue(h.port, `POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\n${auth}Content-Type: application/json\r\nContent-Length: 1000\r\n`);
      expect(r.text, auth).not.toContain('100 Continue');
      expect(r.status, auth).toBe(401);
      expect(errorCode(r)).toBe('VA_ERR_UNAUTHORIZED');
      expect(r.closedByServer).toBe(true);
    }
    const ok = await continueThenBody(h.port, `POST /v1/streams HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n`, '[]');
    expect(ok.first).toBe('HTTP/1.1 100 Continue');
    expect(ok.text).toMatch(/\r\n\r\nHTTP\/1\.1 400 /);
    await h.check('expect without token');
  });

  it('accepts ?token= on the WebSocket only, never on HTTP routes', async () => {
    const host = `127.0.0.1:${h.port}`;
    for (const p of [`/v1/streams?token=${TOKEN}`, `/v1/streams/witness?token=${TOKEN}`]) {
      const r = await h.raw(`GET ${p} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(r.status, p).toBe(401);
      expect(errorCode(r)).toBe('VA_ERR_UNAUTHORIZED');
    }
    const del = await h.raw(`DELETE /v1/streams/witness?token=${TOKEN} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(del.status).toBe(401);
    expect(await upgradeStatus(`ws://${host}/v1/events?token=${TOKEN}`)).toBe(101);
    expect(await upgradeStatus(`ws://${host}/v1/events?token=wrong`)).toBe(401);
    // Host and Origin are checked before anything else, even with the right token.
    expect(await upgradeStatus(`ws://${host}/v1/events?token=${TOKEN}`, { origin: 'http://evil.example' })).toBe(403);
    expect(h.daemon.logs.join('\n')).not.toContain(TOKEN);
    await h.check('token in query');
  });
});

describe('adversarial WebSocket reader (never reads)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { server: { wsQueueMessages: 16, wsMaxBehindMs: 200 } } });
  });
  afterAll(async () => h.close());

  it('loses its own messages, is closed with 1008, and costs the daemon nothing', async () => {
    const host = `127.0.0.1:${h.port}`;
    const reader = new WebSocket(`ws://${host}/v1/events?streams=flood`);
    const got: unknown[] = [];
    reader.on('message', (m) => got.push(m));
    await new Promise((r) => reader.once('open', r));
    const stalled = net.connect(h.port, '127.0.0.1');
    stalled.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      let head = '';
      stalled.once('connect', () => stalled.write(`GET /v1/events HTTP/1.1\r\nHost: ${host}\r\n${UPGRADE}\r\n`));
      const onData = (b: Buffer): void => {
        head += b.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        stalled.off('data', onData);
        stalled.pause();
        resolve();
      };
      stalled.on('data', onData);
    });
    // A flood of large events (as a busy multi-camera daemon would publish) straight into the
    // daemon's event bus, until the daemon gives up on the stalled client.
    const { daemon } = h.daemon;
    const face = { trackId: 1, box: [1, 2, 3, 4] as const, score: 0.9, landmarks: Array.from({ length: 5 }, () => [1.2345, 6.789] as const), quality: { score: 0.9, interocularPx: 2, sharpness: 100, gated: [] } };
    let published = 0;
    const closedLog = (): boolean => h.daemon.logs.some((l) => l.includes('stayed behind (1008)'));
    const deadline = Date.now() + 20_000;
    while (!closedLog() && Date.now() < deadline) {
      for (let i = 0; i < 40; i++) {
        const event: FacesEvent = { type: 'faces', streamId: asStreamId('flood'), frame: published++, pts: 0, ts: new Date().toISOString(), width: 640, height: 360, faces: Array.from({ length: 10 }, () => face) };
        daemon.events.next(event);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(closedLog()).toBe(true);
    const metrics = await (await h.api('GET', '/metrics')).text();
    expect(Number(/^va_ws_messages_dropped_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    // The reading client got every flood event.
    const end = Date.now() + 10_000;
    while (got.length < published && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(got.length).toBe(published);
    // The stalled client finally reads: the close frame with 1008 is there, after what it was sent.
    const chunks: Buffer[] = [];
    stalled.on('data', (b: Buffer) => chunks.push(b));
    stalled.resume();
    const closeCode = (): number | undefined => {
      // Walk the server's (unmasked) frames to a complete close frame.
      const all = Buffer.concat(chunks);
      for (let i = 0; i + 2 <= all.length; ) {
        let len = all[i + 1]! & 0x7f;
        let at = i + 2;
        if (len === 126) [len, at] = at + 2 <= all.length ? [all.readUInt16BE(at), at + 2] : [Infinity, at];
        else if (len === 127) [len, at] = at + 8 <= all.length ? [Number(all.readBigUInt64BE(at)), at + 8] : [Infinity, at];
        if (at + len > all.length) return undefined;
        if ((all[i]! & 0x0f) === 0x8) return all.readUInt16BE(at);
        i = at + len;
      }
      return undefined;
    };
    const stop = Date.now() + 10_000;
    while (closeCode() === undefined && Date.now() < stop) await new Promise((r) => setTimeout(r, 20));
    expect(closeCode()).toBe(1008);
    stalled.destroy();
    reader.close();
    await new Promise((r) => reader.once('close', r));
    await h.check('stalled reader', { allowErrorLogs: false });
  });
});

describe('adversarial WebSocket clients that never answer pings', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { server: { maxWsClients: 3, wsPingMs: 300 } } });
  });
  afterAll(async () => h.close());

  it('cuts off clients that hold every slot without answering pings; a responsive client stays', async () => {
    const url = `ws://127.0.0.1:${h.port}/v1/events`;
    const deaf = Array.from({ length: 3 }, () => new WebSocket(url, { autoPong: false }));
    const closed = deaf.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    await Promise.all(deaf.map((ws) => new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))));
    // Every slot is held: the next upgrade is refused until the daemon notices.
    expect(await upgradeStatus(url)).toBe(503);
    await Promise.all(closed);
    // The slots are free again: a responsive client connects and keeps its connection over many pings.
    const live = new WebSocket(url);
    let pings = 0;
    const got: unknown[] = [];
    live.on('ping', () => pings++);
    live.on('message', (m) => got.push(m));
    await new Promise((resolve, reject) => (live.once('open', resolve), live.once('error', reject)));
    const end = Date.now() + 20_000;
    while (pings < 6 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(pings).toBeGreaterThanOrEqual(6);
    expect(live.readyState).toBe(WebSocket.OPEN);
    live.close();
    await new Promise((r) => live.once('close', r));
    await h.check('deaf WebSocket clients');
  });
});

describe('adversarial stream flood (server.maxStreams filled)', () => {
  const MAX = 4;
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { server: { maxStreams: MAX } } });
  });
  afterAll(async () => h.close());

  interface Info {
    id: string;
    state: string;
    framesDecoded: number;
  }
  const info = async (id: string): Promise<Info> => (await (await h.api('GET', `/v1/streams/${id}`)).json()) as Info;
  const advances = async (id: string): Promise<void> => {
    const before = (await info(id)).framesDecoded;
    const end = Date.now() + 20_000;
    while ((await info(id)).framesDecoded <= before && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect((await info(id)).framesDecoded, `${id} advances`).toBeGreaterThan(before);
  };

  it('takes streams up to the limit (also from a parallel burst), answers 429 beyond, and frees a slot on DELETE', async () => {
    // A burst of parallel POSTs, more than the free slots (the witness holds one).
    const ids = Array.from({ length: 3 * MAX }, (_, i) => `flood${i}`);
    const answers = await Promise.all(ids.map((id) => h.api('POST', '/v1/streams', { id, url: media('single_face.mp4'), loop: true })));
    const statuses = answers.map((r) => r.status);
    const accepted = ids.filter((_, i) => statuses[i] === 201);
    expect(accepted).toHaveLength(MAX - 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(ids.length - (MAX - 1));
    const refused = answers.find((r) => r.status === 429)!;
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('VA_ERR_LIMIT');
    await Promise.all(answers.filter((r) => r.status === 201).map((r) => r.arrayBuffer()));
    expect(((await (await h.api('GET', '/v1/streams')).json()) as { streams: Info[] }).streams).toHaveLength(MAX);

    // At the limit the daemon and every running stream keep working.
    for (const id of [WITNESS, ...accepted]) await advances(id);
    expect((await h.api('POST', '/v1/streams', { id: 'one-more', url: media('single_face.mp4') })).status).toBe(429);
    await h.check('at maxStreams');

    // A DELETE frees exactly one slot; the others keep running.
    expect((await h.api('DELETE', `/v1/streams/${accepted[0]!}`)).status).toBe(204);
    expect((await h.api('POST', '/v1/streams', { id: 'replacement', url: media('single_face.mp4'), loop: true })).status).toBe(201);
    expect((await h.api('POST', '/v1/streams', { id: 'one-more', url: media('single_face.mp4') })).status).toBe(429);
    for (const id of ['replacement', ...accepted.slice(1)]) await advances(id);

    // Removing them all leaves nothing behind.
    for (const id of ['replacement', ...accepted.slice(1)]) expect((await h.api('DELETE', `/v1/streams/${id}`)).status).toBe(204);
    expect(((await (await h.api('GET', '/v1/streams')).json()) as { streams: Info[] }).streams.map((s) => s.id)).toEqual([WITNESS]);
    await h.check('after the flood');
  });
});
