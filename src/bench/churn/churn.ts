import path from 'node:path';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { connect, type DaemonClient, type Subscription } from '../../client/index.js';
import { configSchema } from '../../config/schema.js';
import { buildDaemon } from '../../daemon.js';
import { tensorCount } from '../../models/backend.js';
import { createLogger } from '../../observability/logger.js';
import { defaultModelDir, testMediaDir } from '../../paths.js';

/** One minute's reading, taken after a forced GC when `--expose-gc` is on. */
export interface ChurnSample {
  readonly minute: number;
  readonly cycles: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly externalMb: number;
  readonly tensors: number;
  readonly fds: number;
  readonly witnessFrames: number;
}

const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const openFds = (): number => readdirSync('/proc/self/fd').length;

/** A subscriber as a program writes one (affect-daemon/client), reading every event it gets. */
async function openClient(client: DaemonClient): Promise<Subscription<unknown>> {
  let opened!: () => void;
  let failed!: (err: Error) => void;
  const open = new Promise<void>((resolve, reject) => ((opened = resolve), (failed = reject)));
  const sub = client.subscribe({
    types: ['faces', 'track', 'affect'],
    reconnect: false,
    onState: (s) => (s.state === 'open' ? opened() : s.state === 'closed' ? failed(new Error(`a subscriber could not connect (${s.code} ${s.reason})`)) : undefined),
  });
  void (async () => {
    for await (const _ of sub);
  })().catch(() => undefined);
  await open;
  return sub;
}

/**
 * The churn an operator's daemon lives through, cycle after cycle, around a looped witness stream
 * and the default expression model: three file streams added over HTTP, twenty WebSocket clients
 * subscribing, snapshots fetched, then the streams removed and the clients gone (half closed
 * politely, half cut off). Each minute reports memory, tensors and fds, so a leak shows as a rise
 * that does not level off.
 */
export async function benchChurn(o: { readonly minutes: number; readonly backend: string; readonly json: boolean }): Promise<ChurnSample[]> {
  const media = testMediaDir;
  const config = configSchema.parse({
    backend: o.backend,
    server: { port: 0, maxStreams: 8 },
    log: { level: 'warn' },
    files: { roots: [media] },
    model: { dir: defaultModelDir, smoothing: 'ema' },
    analysis: { analysisFps: 10 },
    streams: [{ id: 'witness', url: path.join(media, 'utterance_1.mp4'), loop: true }],
  });
  const daemon = buildDaemon(config, { logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })), registry: new Registry() });
  const samples: ChurnSample[] = [];
  const clips = ['single_face.mp4', 'face_noface.mov', 'no_face.mp4'];
  try {
    const address = await daemon.start();
    const client = connect({ url: `http://127.0.0.1:${address.port}` });
    const started = performance.now();
    let cycles = 0;
    for (let minute = 0; minute <= o.minutes; minute++) {
      const minuteEnd = started + (minute + 1) * 60_000;
      while (minute > 0 && performance.now() < minuteEnd) {
        await churnCycle(client, clips, cycles++);
      }
      if (minute === 0) await sleep(10_000);
      global.gc?.();
      const mem = process.memoryUsage();
      const witness = daemon.supervisor().list().find((s) => s.id === 'witness');
      const s: ChurnSample = {
        minute,
        cycles,
        rssMb: mb(mem.rss),
        heapMb: mb(mem.heapUsed),
        externalMb: mb(mem.external + mem.arrayBuffers),
        tensors: tensorCount(),
        fds: openFds(),
        witnessFrames: witness?.framesDecoded ?? -1,
      };
      samples.push(s);
      if (!o.json) console.log(JSON.stringify(s));
    }
  } finally {
    await daemon.close();
  }
  if (o.json) console.log(JSON.stringify(samples, null, 2));
  else if (samples.length > 1) {
    const first = samples[1] as ChurnSample;
    const last = samples.at(-1) as ChurnSample;
    console.log(`minute 1 → ${last.minute}: RSS ${first.rssMb} → ${last.rssMb} MB, heap ${first.heapMb} → ${last.heapMb} MB, tensors ${first.tensors} → ${last.tensors}, fds ${first.fds} → ${last.fds}, ${last.cycles} cycles`);
  }
  return samples;
}

async function churnCycle(client: DaemonClient, clips: readonly string[], n: number): Promise<void> {
  const ids = clips.map((_, i) => `churn-${n}-${i}`);
  const subscribers = await Promise.all(Array.from({ length: 20 }, () => openClient(client)));
  for (const [i, clip] of clips.entries()) await client.add({ id: ids[i]!, url: path.join(testMediaDir, clip), loop: true });
  await sleep(4000);
  for (const id of ids) {
    await client.snapshot(id);
    await client.snapshot(id, { annotated: true });
  }
  await sleep(2000);
  for (const id of ids) await client.remove(id);
  // Half closed politely, half cut off.
  for (const [i, sub] of subscribers.entries()) sub.close({ abrupt: i % 2 === 1 });
  await sleep(500);
}
