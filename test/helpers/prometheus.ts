import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/** A free loopback port (bound, read and released: another process could take it in between). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface RunningPrometheus {
  readonly base: string;
  readonly output: string[];
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  labelValues(label: string, match: string): Promise<string[]>;
  close(): Promise<void>;
}

interface ScrapeConfig {
  global: Record<string, unknown>;
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}

/**
 * A real Prometheus on a free loopback port with a temporary TSDB, scraping `target` every second
 * with the committed scrape config (only the target and the interval are changed).
 */
export async function startPrometheus(configFile: string, target: string): Promise<RunningPrometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-prom-'));
  const cfg = parseYaml(readFileSync(configFile, 'utf8')) as ScrapeConfig;
  cfg.global = { ...cfg.global, scrape_interval: '1s', evaluation_interval: '1s' };
  for (const job of cfg.scrape_configs) job.static_configs = [{ targets: [target] }];
  const file = path.join(dir, 'prometheus.yml');
  writeFileSync(file, stringify(cfg));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${file}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output.join('')}`);
    const ok = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`prometheus not ready after 20 s: ${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${base}${p}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    base,
    output,
    query: async (expr) => (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    labelValues: (label, match) => api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`),
    close,
  };
}
