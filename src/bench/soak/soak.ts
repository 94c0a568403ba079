import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { configSchema } from '../../config/schema.js';
import { buildDaemon } from '../../daemon.js';
import { tensorCount } from '../../models/backend.js';
import { createLogger } from '../../observability/logger.js';
import { testMediaDir } from '../../paths.js';
import { startRtspServer } from '../harness/rtsp-test-server.js';

interface Sample {
  readonly minute: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly tensors: number;
  readonly handles: number;
  readonly eventsPerSecond: number;
  readonly streamsRunning: number;
  readonly reconnects: number;
}

const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;

function activeHandles(): number {
  // Node's own count of open handles (sockets, timers, child pipes); no public API gives it.
  const p = process as unknown as { _getActiveHandles?: () => unknown[] };
  return p._getActiveHandles?.().length ?? -1;
}

/**
 * Four looped streams (two files, two RTSP cameras served by GStreamer on loopback) for `minutes`,
 * with one camera killed and brought back every minute; samples memory, tensors, handles and the
 * event rate each minute.
 */
export async function benchSoak(o: { readonly minutes: number; readonly backend: string; readonly json: boolean }): Promise<Sample[]> {
  const media = testMediaDir;
  const camA = await startRtspServer({ file: path.join(media, 'utterance_1.mp4') });
  const camB = await startRtspServer({ file: path.join(media, 'face_noface.mov') });
  const config = configSchema.parse({
    backend: o.backend,
    server: { port: 0 },
    log: { level: 'warn' },
    rtsp: { stallTimeoutMs: 5000, reconnect: { initialDelayMs: 200, maxDelayMs: 2000 } },
    streams: [
      { id: 'file-talk', url: path.join(media, 'utterance_1.mp4'), loop: true },
      { id: 'file-noface', url: path.join(media, 'no_face.mp4'), loop: true },
      { id: 'cam-a', url: camA.url },
      { id: 'cam-b', url: camB.url },
    ],
  });
  const registry = new Registry();
  const daemon = buildDaemon(config, { logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })), registry });
  let events = 0;
  const sub = daemon.events.subscribe(() => events++);
  const samples: Sample[] = [];
  try {
    await daemon.start();
    await sleep(10_000);
    for (let minute = 0; minute <= o.minutes; minute++) {
      const e0 = events;
      const t0 = performance.now();
      if (minute > 0) {
        // A camera reboot every minute: killed without TEARDOWN, back 3 s later on the same port.
        camA.kill();
        await sleep(3000);
        await camA.restart();
        await sleep(57_000);
      } else await sleep(5000);
      const eventsPerSecond = Math.round(((events - e0) / ((performance.now() - t0) / 1000)) * 10) / 10;
      global.gc?.();
      const mem = process.memoryUsage();
      const list = daemon.supervisor().list();
      const s: Sample = {
        minute,
        rssMb: mb(mem.rss),
        heapMb: mb(mem.heapUsed),
        tensors: tensorCount(),
        handles: activeHandles(),
        eventsPerSecond,
        streamsRunning: list.filter((x) => x.state === 'running').length,
        reconnects: list.reduce((n, x) => n + x.reconnects, 0),
      };
      samples.push(s);
      if (!o.json) console.log(JSON.stringify(s));
    }
  } finally {
    sub.unsubscribe();
    await daemon.close();
    await camA.stop();
    await camB.stop();
  }
  const first = samples[0];
  const last = samples.at(-1);
  if (o.json) console.log(JSON.stringify(samples, null, 2));
  else if (first && last) {
    console.log(
      `start → end: RSS ${first.rssMb} → ${last.rssMb} MB, heap ${first.heapMb} → ${last.heapMb} MB, tensors ${first.tensors} → ${last.tensors}, ` +
        `handles ${first.handles} → ${last.handles}, events/s ${first.eventsPerSecond} → ${last.eventsPerSecond}, running ${last.streamsRunning}/4, reconnects ${last.reconnects}`,
    );
  }
  return samples;
}
