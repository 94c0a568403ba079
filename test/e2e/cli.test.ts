import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventClient, parseMetrics } from '../helpers/daemon.js';
import { media } from '../helpers/media.js';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';

let running: SpawnedDaemon | undefined;
/** CLIs a test ran at once (each should have exited by itself). */
let spawned: SpawnedDaemon[] = [];
afterEach(() => {
  for (const d of [...spawned, ...(running ? [running] : [])]) if (d.child.exitCode === null) d.child.kill('SIGKILL');
  running = undefined;
  spawned = [];
});

/** Spawns each CLI at once (they are independent) and waits for every exit. */
async function spawnAll(runs: readonly (readonly [readonly string[], NodeJS.ProcessEnv?])[]): Promise<{ d: SpawnedDaemon; code: number | string }[]> {
  const ds = runs.map(([args, env]) => spawnDaemon(args, env));
  spawned.push(...ds);
  // 'close' comes after the last stdout/stderr chunk ('exit' may come before it).
  const closed = ds.map((d) => new Promise((r) => d.child.once('close', r)));
  return Promise.all(
    ds.map(async (d, i) => {
      await closed[i];
      return { d, code: await d.exited };
    }),
  );
}

describe('the daemon command', () => {
  it('runs the embedded default (the demo stream, the packaged expression model) and stops on SIGTERM with exit 0 before its shutdown timeout', async () => {
    running = spawnDaemon(['run', '--port', '0', '--backend', 'wasm']);
    const port = await running.port();
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    const client = await EventClient.connect(`ws://127.0.0.1:${port}/v1/events?streams=demo`);
    // The demo pans across group photos: several faces at once.
    const ev = await client.waitFor((m) => m.type === 'faces' && (m.faces as unknown[]).length >= 2, 30_000);
    expect(ev.width).toBe(1280);
    expect(ev.height).toBe(720);
    // The embedded default model: expressions (and only expressions) for the demo's faces.
    const affect = (await client.waitFor((m) => m.type === 'affect', 90_000)) as { expr: { probs: Record<string, number>; label: string }; model: { id: string }; au?: unknown; va?: unknown };
    expect(affect.model.id).toBe('default-expressions');
    expect(Object.keys(affect.expr.probs)).toEqual(['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise']);
    expect(Object.values(affect.expr.probs).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    expect(affect.expr.probs[affect.expr.label]).toBe(Math.max(...Object.values(affect.expr.probs)));
    expect(affect.au).toBeUndefined();
    expect(affect.va).toBeUndefined();
    const readyz = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { details: { affectModel: { id: string; smoothing: string } } };
    expect(readyz.details.affectModel).toMatchObject({ id: 'default-expressions', smoothing: 'ema' });
    const metrics = parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(metrics.get('va_frames_analysed_total{stream="demo"}')).toBeGreaterThan(0);
    running.child.kill('SIGTERM');
    // Exit 0 is the proof of time: a shutdown still running at server.shutdownTimeoutMs + 500 ms
    // (4.5 s by default) is cut short by main's hard stop with exit 1.
    expect(await running.exited).toBe(0);
    expect(client.closeCode).toBe(1001);
    const lines = running.stdout.map((l) => JSON.parse(l) as { msg: string });
    expect(lines.at(-1)!.msg).toBe('daemon stopped');
    expect(lines.some((l) => l.msg === 'TF.js backend selected')).toBe(true);
  }, 180_000);

  it('serves a config file with file sources and honours --host/--port/--file-root', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-e2e-'));
    const cfg = path.join(dir, 'c.yaml');
    writeFileSync(cfg, `streams:\n  - id: talk\n    url: "file://${media('utterance_1.mp4')}"\n    realtime: false\n`);
    running = spawnDaemon(['run', '--config', cfg, '--host', '127.0.0.1', '--port', '0', '--file-root', dir, '--log-level', 'info']);
    const port = await running.port();
    const base = `http://127.0.0.1:${port}`;
    let info: { state: string; framesAnalysed: number } = { state: '', framesAnalysed: 0 };
    const deadline = Date.now() + 40_000;
    while (info.state !== 'ended' && Date.now() < deadline) {
      info = (await (await fetch(`${base}/v1/streams/talk`)).json()) as typeof info;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(info.state).toBe('ended');
    expect(info.framesAnalysed).toBe(309);
    // --file-root replaced the default root: the shared media folder is now outside it.
    const res = await fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'x', url: media('single_face.mp4') }) });
    expect(res.status).toBe(403);
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);
  });

  it('exits non-zero on bad config, listing every problem', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-e2e-'));
    const cfg = path.join(dir, 'bad.yaml');
    writeFileSync(cfg, 'server:\n  port: -1\nbackend: abacus\nanalysis:\n  maxWidth: 3\nstreams:\n  - id: ok\n');
    running = spawnDaemon(['run', '--config', cfg]);
    expect(await running.exited).toBe(2);
    const err = running.stderr.join('');
    for (const field of ['server.port', 'backend', 'analysis.maxWidth', 'streams.0.url']) expect(err).toContain(field);
  });

  it('rejects a bad flag value before starting, with exit 2', async () => {
    const flags = [['--port', 'eighty'], ['--port', '70000'], ['--stride', '0'], ['--no-such-flag']];
    const runs = await spawnAll(flags.map((args) => [['run', ...args]] as const));
    runs.forEach(({ d, code }, i) => {
      const args = flags[i]!;
      expect(code, args.join(' ')).toBe(2);
      expect(d.stderr.join(''), args.join(' ')).toMatch(/port|stride|unknown option/);
      expect(d.stdout, args.join(' ')).toEqual([]);
    });
  });

  it('exits 2 listing every problem on stderr: environment, duplicate ids, broken state file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-e2e-'));
    const cfg = path.join(dir, 'dup.yaml');
    writeFileSync(cfg, 'server: {maxStreams: 0}\nstreams:\n  - {id: a, url: "demo:"}\n  - {id: a, url: "demo:"}\n');
    // A state file found broken only at start is a configuration error too (not a JSON log and exit 1).
    const state = path.join(dir, 'streams.json');
    writeFileSync(state, '{"version": 1, "streams": [{"id": "x"}]}');
    const withState = path.join(dir, 'state.yaml');
    writeFileSync(withState, `persistence: {file: "${state}"}\nstreams: []\n`);
    const [env, dup, broken] = await spawnAll([
      [['run', '--port', '0'], { DAEMON_PORT: '1e3' }],
      [['run', '--config', cfg], { DAEMON_LOG_LEVEL: 'loud' }],
      [['run', '--config', withState, '--port', '0', '--backend', 'wasm']],
    ]);

    expect(env!.code).toBe(2);
    expect(env!.d.stderr.join('')).toMatch(/DAEMON_PORT/);
    expect(env!.d.stdout).toEqual([]);

    expect(dup!.code).toBe(2);
    const err = dup!.d.stderr.join('');
    for (const p of ['server.maxStreams', 'duplicate stream id "a"', 'log.level', 'DAEMON_LOG_LEVEL']) expect(err).toContain(p);
    expect(dup!.d.stdout).toEqual([]);

    expect(broken!.code).toBe(2);
    expect(broken!.d.stderr.join('')).toMatch(/persistence\.file .*streams\.0\.url/);
  });
});
