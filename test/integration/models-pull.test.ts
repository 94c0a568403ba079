/**
 * `daemon models pull` against real local HTTP(S) servers serving the seed's reference
 * checkpoints: the good path through a redirect chain, and every way a download goes wrong, each
 * with its clear error and nothing half-installed in the store.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/core/errors.js';
import { ModelStore } from '../../src/import/store/model-store.js';
import { addModel, listModels, pullModels, type PullOptions } from '../../src/import/models-command.js';
import { repoRoot } from '../helpers/media.js';

const seedDir = path.join(repoRoot, 'test', 'fixtures', 'seed');
const cnn0 = readFileSync(path.join(seedDir, 'cnn_member0.pth'));
const cnn1 = readFileSync(path.join(seedDir, 'cnn_member1_legacy.pth'));
const rnn0 = readFileSync(path.join(seedDir, 'cnn_rnn_member0.pth'));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** What the server serves under /files/NAME, and how it misbehaves. */
const files = new Map<string, Buffer>();
const requests: { url: string; range: string | undefined }[] = [];
/** File names whose first full request is cut half way (then served properly, with Range). */
const dropOnce = new Set<string>();

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = (req.url ?? '/').split('?')[0] as string;
  requests.push({ url, range: req.headers.range });
  if (url.startsWith('/hop1/')) return void res.writeHead(302, { location: `/hop2/${url.slice(6)}` }).end();
  if (url.startsWith('/hop2/')) return void res.writeHead(307, { location: `http://127.0.0.1:${port}/files/${url.slice(6)}` }).end();
  if (url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
  if (url === '/login') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return void res.end('<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>…</body></html>');
  }
  if (url === '/disguised') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return void res.end('<!DOCTYPE html><html><head><title>Sign in</title></head><body>' + 'x'.repeat(200) + '</body></html>');
  }
  if (url === '/truncated') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(cnn0.length) });
    res.write(cnn0.subarray(0, 4096));
    // A FIN after the bytes, not a reset: a reset 20 ms later could reach a client that had not yet
    // read them (a loaded machine), and the kernel drops what it has not read.
    return void res.socket?.end();
  }
  if (url === '/stall') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(cnn0.length) });
    res.write(cnn0.subarray(0, 4096));
    return; // never another byte
  }
  if (url === '/huge') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(10 * 1024 ** 3) });
    return void res.end();
  }
  if (url === '/flaky') {
    res.writeHead(503);
    return void res.end();
  }
  const m = /^\/files\/([\w.-]+)$/.exec(url);
  const body = m !== null ? files.get(m[1] as string) : undefined;
  if (m === null || body === undefined) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  const name = m[1] as string;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range !== null) {
    const start = Number(range[1]);
    if (start >= body.length) return void res.writeHead(416).end();
    res.writeHead(206, { 'content-type': 'application/octet-stream', 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    return void res.end(body.subarray(start));
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
  if (dropOnce.delete(name)) {
    res.write(body.subarray(0, Math.floor(body.length / 2)));
    return void setTimeout(() => res.destroy(), 20);
  }
  res.end(body);
}

let server: http.Server;
let port: number;
let work: string;

beforeAll(async () => {
  server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  work = mkdtempSync(path.join(tmpdir(), 'models-pull-'));
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
interface Case {
  readonly store: ModelStore;
  readonly catalog: string;
  readonly notes: string[];
  pull(name: string, extra?: Partial<PullOptions>): Promise<string[]>;
}

/** A fresh store and a catalogue whose model `m` has the given files (paths on the local server). */
function setup(entries: Record<string, { kind: 'cnn' | 'cnn-rnn' | 'backbone'; seqLen?: number; reportedMetrics?: Record<string, number>; files: { name: string; path: string; sha256?: string; maxBytes?: number; base?: string }[] }>): Case {
  const dir = path.join(work, `case-${n++}`);
  mkdirSync(dir);
  const models: Record<string, unknown> = {};
  for (const [name, e] of Object.entries(entries)) {
    models[name] = {
      description: `test model ${name}`,
      kind: e.kind,
      ...(e.seqLen !== undefined ? { seqLen: e.seqLen } : {}),
      licence: 'MIT (test)',
      trainedOn: ['nothing: test fixtures'],
      reported: 'nothing',
      ...(e.reportedMetrics !== undefined ? { reportedMetrics: e.reportedMetrics } : {}),
      repository: 'https://example.invalid/repo',
      files: e.files.map((f) => ({ name: f.name, url: `${f.base ?? `http://127.0.0.1:${port}`}${f.path}?token=secret&download=1`, sha256: f.sha256 ?? null, maxBytes: f.maxBytes ?? 10_000_000 })),
    };
  }
  const catalog = path.join(dir, 'catalog.json');
  writeFileSync(catalog, JSON.stringify({ version: 1, models }));
  const store = new ModelStore(path.join(dir, 'store'));
  const notes: string[] = [];
  return {
    store,
    catalog,
    notes,
    pull: (name, extra = {}) =>
      pullModels(name, { store, catalog, download: { retries: 2, backoffMs: 10, idleTimeoutMs: 1000, headTimeoutMs: 3000 }, ...extra }, { note: (l) => notes.push(l) }),
  };
}

/** The store holds exactly these models, and no staging or half-written directory. */
function expectInstalled(store: ModelStore, names: string[]): void {
  const entries = existsSync(store.dir) ? readdirSync(store.dir).filter((e) => !e.startsWith('.hashes')) : [];
  const visible = entries.filter((e) => !e.startsWith('.'));
  expect(visible.sort()).toEqual([...names].sort());
  expect(entries.filter((e) => e.startsWith('.staging') || e.startsWith('.removing'))).toEqual([]);
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected the pull to fail');
}

afterEach(() => {
  requests.length = 0;
  dropOnce.clear();
});

describe('daemon models pull', () => {
  it('follows a redirect chain, resumes a dropped connection with Range, imports, and records provenance', async () => {
    files.set('s0.pth', cnn0);
    files.set('s1.pth', cnn1);
    dropOnce.add('s1.pth');
    const c = setup({ m: { kind: 'cnn', reportedMetrics: { 'val.FAU': 0.626 }, files: [{ name: 'student_0.pth', path: '/hop1/s0.pth' }, { name: 'student_1.pth', path: '/files/s1.pth' }] } });
    expect(await c.pull('m')).toEqual(['m']);
    // The second file was cut half way and resumed from where it stopped, not restarted.
    const resumed = requests.filter((r) => r.url.startsWith('/files/s1.pth'));
    expect(resumed.map((r) => r.range)).toEqual([undefined, `bytes=${Math.floor(cnn1.length / 2)}-`]);
    expectInstalled(c.store, ['m']);
    const manifest = JSON.parse(readFileSync(path.join(c.store.modelDir('m'), 'manifest.json'), 'utf8')) as { members: { role: string }[]; provenance: { importedFrom: { sha256: string }[]; trainingData: string[]; metrics?: Record<string, number> } };
    // What the authors reported travels with the weights, named as reported (not measured here).
    expect(manifest.provenance.metrics).toEqual({ 'reported.val.FAU': 0.626 });
    expect(manifest.members.map((x) => x.role)).toEqual(['student', 'student']);
    expect(manifest.provenance.importedFrom.map((x) => x.sha256)).toEqual([sha(cnn0), sha(cnn1)]);
    expect(manifest.provenance.trainingData).toEqual(['nothing: test fixtures']);
    const record = await c.store.record('m');
    expect(record.files.map((f) => [f.name, f.bytes, f.sha256, f.hashCheck])).toEqual([
      ['student_0.pth', cnn0.length, sha(cnn0), 'first-seen'],
      ['student_1.pth', cnn1.length, sha(cnn1), 'first-seen'],
    ]);
    // Share-link tokens never land in the store's records.
    expect(record.files.map((f) => f.source)).toEqual([`http://127.0.0.1:${port}/hop1/s0.pth`, `http://127.0.0.1:${port}/files/s1.pth`]);
    expect(readFileSync(path.join(c.store.modelDir('m'), 'store.json'), 'utf8')).not.toContain('secret');
    const listed = (await listModels(c.store)).join('\n');
    expect(listed).toContain('m  cnn  2 file(s)');
    expect(listed).toContain(`sha256:${sha(cnn0).slice(0, 12)}`);
    // The downloads are gone once installed.
    expect(existsSync(c.store.downloadsDir('m'))).toBe(false);
  });

  it('a second pull compares with the hashes the first recorded, and a changed file is refused with both hashes', async () => {
    files.set('h.pth', cnn0);
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/h.pth' }] } });
    await c.pull('m');
    await c.pull('m', { force: true });
    expect((await c.store.record('m')).files[0]?.hashCheck).toBe('recorded-earlier');
    files.set('h.pth', cnn1);
    const err = await failure(c.pull('m', { force: true }));
    expect(err.code).toBe(ErrorCodes.DOWNLOAD);
    expect(err.message).toContain(sha(cnn1));
    expect(err.message).toContain(sha(cnn0));
    // The installed model is the first one, untouched.
    expect((await c.store.record('m')).files[0]?.sha256).toBe(sha(cnn0));
    expectInstalled(c.store, ['m']);
  });

  it("a pinned hash that does not match is refused; one that matches is recorded as 'pinned'", async () => {
    files.set('p.pth', cnn0);
    const bad = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/p.pth', sha256: 'a'.repeat(64) }] } });
    const err = await failure(bad.pull('m'));
    expect(err.message).toMatch(/does not match the catalogue's a{64}/);
    expectInstalled(bad.store, []);
    const good = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/p.pth', sha256: sha(cnn0) }] } });
    await good.pull('m');
    expect((await good.store.record('m')).files[0]?.hashCheck).toBe('pinned');
  });

  it('a 404 says the file is not at that address', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/missing.pth' }] } });
    const err = await failure(c.pull('m'));
    expect(err.code).toBe(ErrorCodes.DOWNLOAD);
    expect(err.message).toMatch(/answered 404 .*not \(or no longer\) at that address/);
    expectInstalled(c.store, []);
  });

  it('an HTML sign-in page (as SharePoint sends) is refused with its title and what to do', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/login' }] } });
    const err = await failure(c.pull('m'));
    expect(err.message).toContain('"Sign in to your account"');
    expect(err.message).toContain('daemon models add');
    expectInstalled(c.store, []);
    // An HTML page served as octet-stream is caught by its first bytes.
    const d = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/disguised' }] } });
    const err2 = await failure(d.pull('m'));
    expect(err2.message).toMatch(/sent an HTML or XML page, not the file asked for \(it begins "<!DOCTYPE html>/);
    expectInstalled(d.store, []);
  });

  it('a file that is always cut short fails after the retries, and keeps its part for the next run to resume', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/truncated' }] } });
    const err = await failure(c.pull('m'));
    expect(err.message).toMatch(/gave up after 3 attempt\(s\); run the same command again to resume/);
    expect(requests.filter((r) => r.url.startsWith('/truncated'))).toHaveLength(3);
    expectInstalled(c.store, []);
    expect(readFileSync(path.join(c.store.downloadsDir('m'), 'student_0.pth.part')).length).toBeGreaterThan(4000);
  });

  it('a server that stops sending hits the idle timeout', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/stall' }] } });
    const err = await failure(c.pull('m', { download: { retries: 0, idleTimeoutMs: 300, headTimeoutMs: 3000 } }));
    expect(err.message).toContain('no data for 300 ms');
    expectInstalled(c.store, []);
  });

  it('a file larger than the catalogue allows is refused from its Content-Length, before any byte is read', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/huge', maxBytes: 50_000_000 }] } });
    const err = await failure(c.pull('m'));
    expect(err.message).toMatch(/offers 10737418240 bytes, more than the 50000000/);
    expectInstalled(c.store, []);
  });

  it('5xx answers are retried with backoff, then reported', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/flaky' }] } });
    const err = await failure(c.pull('m'));
    expect(err.message).toMatch(/answered 503.*gave up after 3 attempt/);
    expect(c.notes.filter((l) => l.includes('retrying in'))).toHaveLength(2);
  });

  it('too many redirects are refused', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/loop' }] } });
    const err = await failure(c.pull('m'));
    expect(err.message).toContain('more than 10 redirects');
  });

  it('a checkpoint of the wrong kind (a CNN-RNN where a CNN was promised) is refused and not kept', async () => {
    files.set('r.pth', rnn0);
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/r.pth' }] } });
    const err = await failure(c.pull('m'));
    expect(err.code).toMatch(/^VA_ERR_(MODEL_WEIGHTS|CHECKPOINT_FORMAT|BAD_REQUEST)$/);
    expectInstalled(c.store, []);
    expect(existsSync(c.store.downloadsDir('m'))).toBe(false);
  });

  it('the FER+ backbone is checked for the keys and shapes `init: { from: ferplus }` reads; a seed checkpoint in its place is refused', async () => {
    files.set('ferplus.pth', readFileSync(path.join(seedDir, 'ferplus_tiny.pth')));
    files.set('not-ferplus.pth', cnn0);
    const good = setup({ fer: { kind: 'backbone', files: [{ name: 'resnet50_ferplus_dag.pth', path: '/files/ferplus.pth' }] } });
    await good.pull('fer');
    expectInstalled(good.store, ['fer']);
    expect(existsSync(path.join(good.store.modelDir('fer'), 'resnet50_ferplus_dag.pth'))).toBe(true);
    const bad = setup({ fer: { kind: 'backbone', files: [{ name: 'resnet50_ferplus_dag.pth', path: '/files/not-ferplus.pth' }] } });
    const err = await failure(bad.pull('fer'));
    expect(err.message).toMatch(/FER\+ backbone/);
    expectInstalled(bad.store, []);
  });

  it('a full disk stops the download with a clear error and installs nothing', async () => {
    files.set('d.pth', cnn0);
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/d.pth' }] } });
    let written = 0;
    const err = await failure(
      c.pull('m', {
        download: {
          retries: 0,
          openSink: async () => ({
            write: async (chunk: Buffer) => {
              written += chunk.length;
              if (written > 65536) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            },
            close: async () => undefined,
          }),
        },
      }),
    );
    expect(err.message).toContain('no space left on the device');
    expectInstalled(c.store, []);
  });

  it('a catalogue, a store record or a hand-added checkpoint that is a FIFO, missing or a directory is refused by the shared regular-file reader, naming the file', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/x.pth' }] } });
    const dir = path.dirname(c.catalog);
    const fifo = path.join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    const catalogue = await failure(pullModels('m', { store: c.store, catalog: fifo }, { note: () => undefined }));
    expect([catalogue.code, catalogue.message]).toEqual([ErrorCodes.CONFIG, `${fifo} is a FIFO, not a regular file`]);
    mkdirSync(c.store.modelDir('m'), { recursive: true });
    execFileSync('mkfifo', [path.join(c.store.modelDir('m'), 'store.json')]);
    const record = await failure(c.store.record('m'));
    expect(record.message).toBe(`${path.join(c.store.modelDir('m'), 'store.json')} is a FIFO, not a regular file`);
    const add = (file: string): Promise<{ code: string; message: string }> => failure(addModel({ store: c.store, name: 'hand', kind: 'cnn', files: [file] }, { note: () => undefined }));
    expect(await add(fifo)).toMatchObject({ code: ErrorCodes.CONFIG, message: `${fifo} is a FIFO, not a regular file` });
    expect(await add(dir)).toMatchObject({ code: ErrorCodes.CONFIG, message: `${dir} is a directory, not a regular file` });
    expect(await add(path.join(dir, 'nope.pth'))).toMatchObject({ code: ErrorCodes.CONFIG, message: `${path.join(dir, 'nope.pth')} does not exist` });
    expect(await c.store.has('hand')).toBe(false);
  });

  it('an unknown name lists what the catalogue has', async () => {
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/x.pth' }] } });
    const err = await failure(c.pull('nope'));
    expect(err.code).toBe(ErrorCodes.MODEL_NOT_FOUND);
    expect(err.message).toContain('it has: m');
  });
});

describe('daemon models pull over TLS and through a proxy', () => {
  let tlsServer: https.Server;
  let tlsPort: number;
  let ca: Buffer;
  let proxy: http.Server;
  let proxyPort: number;
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();

  beforeAll(async () => {
    const dir = path.join(work, 'tls');
    mkdirSync(dir);
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    ca = readFileSync(cert);
    tlsServer = https.createServer({ key: readFileSync(key), cert: ca }, handler);
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsPort = (tlsServer.address() as net.AddressInfo).port;
    // A CONNECT proxy that records the tunnels it opens.
    proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      tunnels.push(req.url ?? '');
      const [host, p] = (req.url ?? '').split(':');
      sockets.add(client);
      const upstream = net.connect(Number(p), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    // Tunnelled sockets belong to no HTTP request, so closeAllConnections() does not see them.
    for (const s of sockets) s.destroy();
    tlsServer.closeAllConnections();
    proxy.closeAllConnections();
    await new Promise<void>((r) => tlsServer.close(() => r()));
    await new Promise<void>((r) => proxy.close(() => r()));
  });

  it('verifies the certificate: an untrusted one is refused, a trusted one is pulled', async () => {
    files.set('t.pth', cnn0);
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/t.pth', base: `https://127.0.0.1:${tlsPort}` }] } });
    const err = await failure(c.pull('m'));
    expect(err.message).toMatch(/TLS verification failed/);
    expectInstalled(c.store, []);
    await c.pull('m', { download: { ca, retries: 0 } });
    expectInstalled(c.store, ['m']);
  });

  it('goes through HTTPS_PROXY with a CONNECT tunnel, and around it for NO_PROXY hosts', async () => {
    files.set('t.pth', cnn0);
    const c = setup({ m: { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/t.pth', base: `https://127.0.0.1:${tlsPort}` }] } });
    tunnels.length = 0;
    await c.pull('m', { download: { ca, retries: 0, env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` } } });
    expect(tunnels).toEqual([`127.0.0.1:${tlsPort}`]);
    tunnels.length = 0;
    await c.pull('m', { force: true, download: { ca, retries: 0, env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: 'localhost,127.0.0.1' } } });
    expect(tunnels).toEqual([]);
    expectInstalled(c.store, ['m']);
  });
});

describe('the daemon with pulled models, from the command line', () => {
  const daemonBin = path.join(repoRoot, 'bin', 'daemon.js');
  // Asynchronous: the catalogue's server runs in this process and must keep answering.
  const run = (args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [daemonBin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });

  it('models pull → list → predict --model NAME → rm, and a missing name says which pull provides it', async () => {
    files.set('c0.pth', cnn0);
    const c = setup({ 'my-cnn': { kind: 'cnn', files: [{ name: 'student_0.pth', path: '/files/c0.pth' }] } });
    // The store comes from XDG_DATA_HOME when --store is not given.
    const xdg = path.join(path.dirname(c.store.dir), 'xdg');
    const env = { XDG_DATA_HOME: xdg };
    const pulled = await run(['models', 'pull', 'my-cnn', '--catalog', c.catalog], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const store = path.join(xdg, 'affect-daemon', 'models');
    expect(existsSync(path.join(store, 'my-cnn', 'manifest.json'))).toBe(true);
    const listed = await run(['models', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('my-cnn  cnn  1 file(s)');
    expect(listed.stdout).toContain('licence: MIT (test)');
    const out = path.join(path.dirname(c.store.dir), 'pred.jsonl');
    const predicted = await run(['predict', '--model', 'my-cnn', '--input', path.join(seedDir, 'faces'), '--out', out, '--engine', 'tfjs'], env);
    expect(predicted.stderr).not.toContain('error');
    expect(predicted.code).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.length).toBe(readdirSync(path.join(seedDir, 'faces')).filter((f) => f.endsWith('.png')).length);
    expect((await run(['models', 'rm', 'my-cnn'], env)).code).toBe(0);
    const missing = await run(['predict', '--model', 'my-cnn', '--input', path.join(seedDir, 'faces'), '--out', out], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('VA_ERR_MODEL_NOT_FOUND');
    expect(missing.stderr).toContain('daemon models pull');
    const runMissing = await run(['run', '--model', 'my-cnn', '--port', '0'], env);
    expect(runMissing.code).toBe(2);
    expect(runMissing.stderr).toContain('`daemon models pull my-cnn`');
  }, 900_000);
});

describe('model.dir / --model NAME', () => {
  it('resolves a bare name in the store (models.store or XDG_DATA_HOME), a path as a path, and a directory of that name first', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const root = mkdtempSync(path.join(work, 'resolve-'));
    const xdgStore = path.join(root, 'xdg', 'affect-daemon', 'models');
    mkdirSync(path.join(xdgStore, 'seed-cnn-rnn'), { recursive: true });
    const env = { XDG_DATA_HOME: path.join(root, 'xdg') };
    expect(loadConfig({ overrides: { model: 'seed-cnn-rnn' }, env, cwd: root }).model.dir).toBe(path.join(xdgStore, 'seed-cnn-rnn'));
    const other = path.join(root, 'other-store');
    mkdirSync(path.join(other, 'seed-cnn-rnn'), { recursive: true });
    const file = path.join(root, 'c.yaml');
    writeFileSync(file, `models: { store: ${other} }\nmodel: { dir: seed-cnn-rnn }\n`);
    expect(loadConfig({ file, env, cwd: root }).model.dir).toBe(path.join(other, 'seed-cnn-rnn'));
    // A directory of that name beside the config wins; a path is never looked up in the store.
    mkdirSync(path.join(root, 'seed-cnn-rnn'));
    expect(loadConfig({ file, env, cwd: root }).model.dir).toBe(path.join(root, 'seed-cnn-rnn'));
    expect(loadConfig({ overrides: { model: './nowhere' }, env, cwd: root }).model.dir).toBe(path.join(root, 'nowhere'));
    expect(() => loadConfig({ overrides: { model: 'seed-cnn' }, env, cwd: root })).toThrow(/neither a directory .* nor a model of the store .*daemon models pull seed-cnn/);
  });
});
