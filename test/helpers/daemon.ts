import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { buildDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/observability/logger.js';
import { recordIfRefused, watchEvents } from './event-contract.js';

export interface RunningDaemon {
  readonly daemon: Daemon;
  readonly base: string;
  readonly ws: string;
  readonly logs: string[];
  readonly config: Config;
  close(): Promise<void>;
}

/** A real daemon on a real socket (port 0), with its logs captured as JSON lines and its events checked against the schemas. */
export async function startDaemon(input: ConfigInput): Promise<RunningDaemon> {
  const config = configSchema.parse({ backend: 'wasm', ...input, server: { port: 0, ...input.server } });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      cb();
    },
  });
  const daemon = buildDaemon(config, { logger: createLogger('debug', sink), registry: new Registry() });
  // Every event the daemon publishes, checked against the committed schemas from the first one.
  watchEvents(daemon.events);
  const address = await daemon.start();
  const host = `127.0.0.1:${address.port}`;
  return { daemon, base: `http://${host}`, ws: `ws://${host}/v1/events`, logs, config, close: () => daemon.close() };
}

/** A WebSocket client that records every JSON message it receives (and checks it against the event schemas). */
export class EventClient {
  readonly messages: Record<string, unknown>[] = [];
  readonly ws: WebSocket;
  closeCode: number | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      this.messages.push(JSON.parse(text) as Record<string, unknown>);
      recordIfRefused(text, 'websocket');
    });
    ws.on('close', (code) => (this.closeCode = code));
  }

  static async connect(url: string): Promise<EventClient> {
    const ws = new WebSocket(url);
    const client = new EventClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Waits until `pred` matches a received message (polling; fails after `ms`). */
  async waitFor(pred: (m: Record<string, unknown>) => boolean, ms = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.messages.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching event within ${ms} ms; got ${this.messages.length} messages`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** Parses Prometheus text into name{labels} → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^(\S+?)(\{.*\})?\s+(\S+)$/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

export async function waitUntil(pred: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
