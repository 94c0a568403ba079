/**
 * Every query of every dashboard panel, run by a real Prometheus that scrapes a real daemon (a
 * looped file stream with a CNN-RNN model, plus a stream that fails): each must return data.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventClient, startDaemon, type RunningDaemon } from '../test/helpers/daemon.js';
import { media, mediaDir } from '../test/helpers/media.js';
import { PROMETHEUS_BIN, startPrometheus, type RunningPrometheus } from '../test/helpers/prometheus.js';
import { importTestModel } from '../test/helpers/test-models.js';
import { dashboards } from './src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ALL = '.*';

describe('dashboards on a real Prometheus', () => {
  let d: RunningDaemon | undefined;
  let prom: RunningPrometheus | undefined;
  let client: EventClient | undefined;

  beforeAll(async () => {
    expect(existsSync(PROMETHEUS_BIN), `${PROMETHEUS_BIN} (Debian package prometheus)`).toBe(true);
    const model = await importTestModel('cnn-rnn');
    d = await startDaemon({
      files: { roots: [mediaDir] },
      model: { dir: model, stride: 2 },
      streams: [
        { id: 'talk', url: media('utterance_1.mp4'), realtime: true, loop: true },
        // A stream that fails, so the failure panels have a series too.
        { id: 'gone', url: path.join(mediaDir, 'no-such-file.mp4') },
      ],
    });
    client = await EventClient.connect(d.ws);
    prom = await startPrometheus(path.join(here, 'prometheus.yml'), new URL(d.base).host);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await prom?.close();
    await d?.close();
  });

  it('every panel query returns data, and every variable has values', async () => {
    const p = prom!;
    const all = dashboards.flatMap((db) =>
      db.spec.panels.flatMap((panel) => panel.exprs.map((e) => ({ where: `${db.file} / ${panel.title}`, expr: e.expr.replaceAll('$stream', ALL).replaceAll('$model', ALL) }))),
    );
    expect(all.length).toBeGreaterThan(20);
    let missing = all;
    const deadline = Date.now() + 40_000;
    while (missing.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const still: typeof all = [];
      for (const q of missing) {
        const result = await p.query(q.expr);
        if (!result.some((s) => Number.isFinite(Number(s.value[1])))) still.push(q);
      }
      missing = still;
    }
    expect(missing.map((q) => `${q.where}: ${q.expr}`)).toEqual([]);
    // The affect series are labelled by the stream and the model that produced them.
    const events = await p.query('sum by (stream) (va_affect_events_total)');
    expect(events.find((s) => s.metric.stream === 'talk')?.value[1]).not.toBe('0');
    for (const db of dashboards) {
      for (const v of db.spec.variables ?? []) {
        expect(await p.labelValues(v.label, v.metric), `${db.file} $${v.name}`).not.toEqual([]);
      }
    }
  }, 60_000);
});
