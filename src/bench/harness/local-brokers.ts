/**
 * Real brokers on loopback for the sink tests and `daemon bench sink`: Debian's mosquitto, nats-server and redis-server,
 * each started by the test on a free port with its data in a temp dir (CI installs the packages).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BINARIES = { mosquitto: '/usr/sbin/mosquitto', nats: '/usr/sbin/nats-server', redis: '/usr/bin/redis-server' } as const;

export function brokerAvailable(kind: keyof typeof BINARIES): boolean {
  return existsSync(BINARIES[kind]);
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}: ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`broker did not listen on ${port} within ${ms} ms: ${output()}`);
}

export interface Broker {
  readonly kind: 'mqtt' | 'nats' | 'redis';
  readonly port: number;
  readonly url: string;
  /** Stops the process (SIGKILL unless `graceful`); the data dir stays for a restart. */
  stop(graceful?: boolean): Promise<void>;
  /** Starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

interface BrokerSpec {
  readonly kind: Broker['kind'];
  readonly bin: string;
  args(port: number, dir: string): string[];
  url(port: number): string;
  setup?(port: number, dir: string): void;
}

async function startBroker(spec: BrokerSpec): Promise<Broker> {
  const dir = mkdtempSync(path.join(tmpdir(), `va-${spec.kind}-`));
  const port = await freePort();
  spec.setup?.(port, dir);
  let child: ChildProcess | undefined;
  let out = '';
  const launch = async (): Promise<void> => {
    out = '';
    const c = spawn(spec.bin, spec.args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    c.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    child = c;
    await waitForPort(port, c, () => out);
  };
  const stop = async (graceful = false): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(graceful ? 'SIGTERM' : 'SIGKILL');
    await exited;
  };
  await launch();
  return {
    kind: spec.kind,
    port,
    url: spec.url(port),
    stop,
    restart: launch,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** mosquitto with persistence (a graceful stop keeps queued QoS 1 messages for persistent sessions). */
export function startMosquitto(opts: { readonly password?: { readonly user: string; readonly pass: string }; readonly tls?: { readonly cert: string; readonly key: string } } = {}): Promise<Broker> {
  return startBroker({
    kind: 'mqtt',
    bin: BINARIES.mosquitto,
    setup(port, dir) {
      // As root, mosquitto would drop to its own user, which cannot read the private temp dir.
      const lines = [
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        `listener ${port} 127.0.0.1`,
        ...(opts.tls ? [`certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`] : []),
        'persistence true', `persistence_location ${dir}/`, 'max_queued_messages 0', 'log_type error'];
      if (opts.password) {
        // mosquitto 2 wants hashed passwords: write plain text, then let its own tool hash it in place.
        writeFileSync(path.join(dir, 'passwd'), `${opts.password.user}:${opts.password.pass}\n`, { mode: 0o600 });
        execFileSync('/usr/bin/mosquitto_passwd', ['-U', path.join(dir, 'passwd')]);
        lines.push('allow_anonymous false', `password_file ${dir}/passwd`);
      } else lines.push('allow_anonymous true');
      writeFileSync(path.join(dir, 'mosquitto.conf'), lines.join('\n') + '\n');
    },
    args: (_port, dir) => ['-c', path.join(dir, 'mosquitto.conf')],
    url: (port) => `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
  });
}

/** nats-server with JetStream, its store in the temp dir. */
export function startNats(opts: { readonly user?: string; readonly pass?: string } = {}): Promise<Broker> {
  return startBroker({
    kind: 'nats',
    bin: BINARIES.nats,
    args: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, ...(opts.user ? ['--user', opts.user, '--pass', opts.pass ?? ''] : [])],
    url: (port) => `nats://127.0.0.1:${port}`,
  });
}

/**
 * redis-server with an fsync-always append-only file, so acknowledged entries survive SIGKILL;
 * `persistence: false` runs it as many deployments do, losing everything on a restart.
 */
export function startRedis(opts: { readonly password?: string; readonly persistence?: boolean } = {}): Promise<Broker> {
  return startBroker({
    kind: 'redis',
    bin: BINARIES.redis,
    args: (port, dir) => [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      ...(opts.persistence === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always']),
      ...(opts.password ? ['--requirepass', opts.password] : []),
    ],
    url: (port) => `redis://127.0.0.1:${port}`,
  });
}
