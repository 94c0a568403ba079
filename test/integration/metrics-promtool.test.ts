import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { EventClient, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';

let d: RunningDaemon | undefined;
afterAll(async () => d?.close());

describe('/metrics', () => {
  it('passes promtool check metrics on a real scrape', async () => {
    d = await startDaemon({ files: { roots: [mediaDir] }, streams: [{ id: 'talk', url: media('utterance_1.mp4'), loop: true }] });
    const client = await EventClient.connect(d.ws);
    await waitUntil(async () => (await (await fetch(`${d!.base}/metrics`)).text()).includes('va_ws_messages_sent_total{type="faces"}'), 30_000, 'faces events');
    const text = await (await fetch(`${d.base}/metrics`)).text();
    client.close();
    expect(text).toContain('va_frames_decoded_total{stream="talk"}');
    const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(run.error, 'promtool must be installed (Debian package prometheus)').toBeUndefined();
    expect(`${run.stdout}${run.stderr}`).toBe('');
    expect(run.status).toBe(0);
  });
});
