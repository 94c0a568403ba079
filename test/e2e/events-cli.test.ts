// `daemon events`: the README's watch-the-events one-liner without downloading a WebSocket client.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { media } from '../helpers/media.js';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';

const TOKEN = 'events-cli-test-token-0123456789';

/** `daemon events …` as a user runs it; `lines` are complete stdout lines. */
function events(args: readonly string[], env: NodeJS.ProcessEnv = {}): SpawnedDaemon {
  return spawnDaemon(['events', ...args], { DAEMON_TOKEN: '', ...env });
}

/** Runs each `daemon events …` at once (they are independent); resolves once every one has exited and closed its output. */
async function eventsAll(runs: readonly (readonly string[])[]): Promise<{ c: SpawnedDaemon; code: number | string }[]> {
  const cs = runs.map((args) => events(args));
  // 'close' comes after the last stdout/stderr chunk ('exit' may come before it).
  const closed = cs.map((c) => new Promise((r) => c.child.once('close', r)));
  return Promise.all(
    cs.map(async (c, i) => {
      await closed[i];
      return { c, code: await c.exited };
    }),
  );
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let daemon: SpawnedDaemon;
let url: string;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-events-'));
  const cfg = path.join(dir, 'c.yaml');
  // Faces only (no model): stream, track and faces events from a looping real clip.
  writeFileSync(cfg, `streams:\n  - {id: talk, url: "file://${media('utterance_1.mp4')}", loop: true}\n  - {id: other, url: "file://${media('single_face.mp4')}", loop: true}\n`);
  daemon = spawnDaemon(['run', '--config', cfg, '--port', '0', '--backend', 'wasm'], { DAEMON_TOKEN: TOKEN });
  url = `ws://127.0.0.1:${await daemon.port()}/v1/events`;
}, 90_000);

afterAll(async () => {
  if (daemon.child.exitCode === null) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
});

// The tests are independent clients (one with its own daemon): they run at once.
describe.concurrent('daemon events', () => {
  it('prints one JSON line per event, filtered by --types and --stream, and exits 0 on Ctrl-C', async () => {
    const c = events(['--url', url, '--types', 'faces,track', '--stream', 'talk', '--token', TOKEN]);
    try {
      await until(() => c.stdout.filter((l) => l.includes('"faces"')).length >= 5, 60_000, 'faces events');
    } finally {
      c.child.kill('SIGINT');
    }
    expect(await c.exited).toBe(0);
    const got = c.stdout.map((l) => JSON.parse(l) as { type: string; streamId: string });
    expect(got.length).toBeGreaterThanOrEqual(5);
    expect(new Set(got.map((e) => e.type)).size).toBeLessThanOrEqual(2);
    for (const e of got) {
      expect(['faces', 'track']).toContain(e.type);
      expect(e.streamId).toBe('talk');
    }
    expect(c.stderr.join('')).toBe('');
  }, 90_000);

  it('takes the token from DAEMON_TOKEN and several --stream flags; --pretty prints readable lines', async () => {
    const c = events(['--url', url, '--stream', 'talk', '--stream', 'other', '--types', 'faces', '--pretty'], { DAEMON_TOKEN: TOKEN });
    try {
      await until(() => ['talk', 'other'].every((s) => c.stdout.some((l) => l.includes(` ${s} faces `))), 60_000, 'faces of both streams');
    } finally {
      c.child.kill('SIGINT');
    }
    expect(await c.exited).toBe(0);
    const line = c.stdout.find((l) => l.includes(' talk faces '))!;
    // time, stream, type, frame and the faces found.
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d\d\d talk faces frame=\d+ faces=\d+/);
    expect(() => JSON.parse(line) as unknown).toThrow();
  }, 90_000);

  it('exits 1 with a clear message when the token is missing or wrong', async () => {
    const variants = [[], ['--token', 'wrong-token-wrong-token-wrong']];
    const runs = await eventsAll(variants.map((args) => ['--url', url, ...args]));
    runs.forEach(({ c, code }, i) => {
      const args = variants[i]!;
      expect(code, args.join(' ')).toBe(1);
      expect(c.stderr.join(''), args.join(' ')).toMatch(/^daemon events: .*401.*token/);
      expect(c.stdout).toEqual([]);
    });
  });

  it('exits 1 with a clear message when nothing listens, and 2 for a bad flag, before connecting', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const freePort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const badFlags = [['--types', 'faces,smiles'], ['--url', 'http://127.0.0.1:1/v1/events'], ['--url', 'not a url'], ['--json', '--pretty']];
    const [refused, ...bads] = await eventsAll([['--url', `ws://127.0.0.1:${freePort}/v1/events`], ...badFlags]);
    const { c, code } = refused!;
    expect(code).toBe(1);
    expect(c.stderr.join('')).toMatch(new RegExp(`^daemon events: cannot connect to ws://127\\.0\\.0\\.1:${freePort}/v1/events: .*ECONNREFUSED`));
    expect(c.stdout).toEqual([]);

    bads.forEach(({ c: bad, code: badCode }, i) => {
      const args = badFlags[i]!;
      expect(badCode, args.join(' ')).toBe(2);
      expect(bad.stderr.join(''), args.join(' ')).toMatch(/smiles|ws:\/\/|url|pretty/);
      expect(bad.stdout, args.join(' ')).toEqual([]);
    });
  });

  it('exits 1 saying so when the daemon goes away', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-events-'));
    const cfg = path.join(dir, 'c.yaml');
    writeFileSync(cfg, 'streams: []\n');
    const d = spawnDaemon(['run', '--config', cfg, '--port', '0', '--backend', 'wasm']);
    const c = events(['--url', `ws://127.0.0.1:${await d.port()}/v1/events`]);
    try {
      // Connected: the daemon counts the client in its metrics.
      await until(() => c.child.exitCode === null && c.stderr.length === 0, 1000, 'client start');
      const metrics = `http://127.0.0.1:${await d.port()}/metrics`;
      const deadline = Date.now() + 30_000;
      while (!/^va_ws_clients 1$/m.test(await (await fetch(metrics)).text())) {
        if (Date.now() > deadline) throw new Error('client never connected');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      d.child.kill('SIGTERM');
    }
    expect(await d.exited).toBe(0);
    expect(await c.exited).toBe(1);
    expect(c.stderr.join('')).toMatch(/^daemon events: the daemon closed the connection \(1001 daemon shutting down\)/);
  }, 90_000);
});

describe('daemon events against a hostile server', () => {
  let server: Server;
  let wss: WebSocketServer;
  let hostile: string;

  beforeAll(async () => {
    server = createServer();
    wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => {
      ws.send('not json at all');
      ws.send(JSON.stringify({ type: 'stream', streamId: 'evil\u001b[2J\nline', state: 'running\r\n', ts: '2026-01-01T00:00:00.000Z' }));
      ws.send(JSON.stringify({ type: 'faces', streamId: 'ok', frame: 1, ts: '2026-01-01T00:00:00.000Z', faces: 'many' }));
      ws.send(JSON.stringify([1, 2, 3]));
      ws.send(Buffer.alloc(5 * 1024 * 1024, 0x20));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hostile = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
  });

  afterAll(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('skips what is not an event (said on stderr), keeps every printed event on one line, refuses an oversized message with exit 1', async () => {
    const modes = ['--json', '--pretty'];
    const runs = await eventsAll(modes.map((mode) => ['--url', hostile, mode]));
    for (const [i, { c, code }] of runs.entries()) {
      const mode = modes[i]!;
      expect(code, mode).toBe(1);
      const err = c.stderr.join('');
      expect(err, mode).toContain('skipped a message that is not a JSON event');
      expect(err, mode).toMatch(/message too big|1009/);
      // Two objects with a type arrived: each is one line, no raw control characters.
      expect(c.stdout, mode).toHaveLength(2);
      for (const l of c.stdout) expect(l, mode).not.toMatch(/[\u0000-\u001f\u007f]/);
      if (mode === '--json') expect((JSON.parse(c.stdout[0]!) as { streamId: string }).streamId).toBe('evil\u001b[2J\nline');
    }
  }, 60_000);
});
