import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsCsv } from './events-csv.js';

const dir = mkdtempSync(path.join(tmpdir(), 'va-events-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('eventsCsv', () => {
  it('releases the events file when the reader stops early (a download the client abandoned)', async () => {
    // Larger than one read chunk (64 KiB), so the file is still being read when the reader stops.
    const line = JSON.stringify({ t: 0, pts: 0, frame: 0, wall: 'w', event: { type: 'affect', trackId: 1, expr: { probs: { Neutral: 1 }, label: 'Neutral' } } });
    const file = path.join(dir, 'events.jsonl');
    writeFileSync(file, (line + '\n').repeat(20_000));
    await new Promise((r) => setTimeout(r, 50));
    const before = openFds();
    for (let i = 0; i < 10; i++) {
      const csv = eventsCsv(file, { auVa: false });
      await csv.next(); // the header
      expect((await csv.next()).value).toMatch(/^0,/); // the first row: the file is open, mid-read
      await csv.return(undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(openFds()).toBe(before);
  });
});
