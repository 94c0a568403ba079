/**
 * Soft labels read back from the cache: a planted or stale file cannot pull another video's faces
 * into a set (a held-out file naming training folders would leak them into validation).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { softLabelFile } from '../align/align-videos.js';
import { ReportBuilder } from '../data/read-report.js';
import { readSoftLabels } from './unlabelled.js';

const cache = mkdtempSync(path.join(tmpdir(), 'soft-labels-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));
const p = [0.5, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05];

describe('readSoftLabels', () => {
  it("reads the rows of the video's own folders", async () => {
    writeFileSync(softLabelFile(cache, 'clip', 'k1'), [{ folder: 'clip', frame: 1, p }, { folder: 'clip_2', frame: 3, p }].map((r) => JSON.stringify(r)).join('\n'));
    const faces = await readSoftLabels(cache, 'clip', 'k1', 1, ['clip', 'clip_2'], new ReportBuilder('test'));
    expect(faces.map((f) => `${f.video}:${f.frame}`)).toEqual(['clip:0', 'clip_2:2']);
  });

  it('keeps every n-th face of each track', async () => {
    const rows = [1, 2, 3, 4, 5].flatMap((frame) => [{ folder: 'walk', frame, p }, { folder: 'walk_2', frame, p }]);
    writeFileSync(softLabelFile(cache, 'walk', 'k1'), rows.map((r) => JSON.stringify(r)).join('\n'));
    const report = new ReportBuilder('test');
    const faces = await readSoftLabels(cache, 'walk', 'k1', 2, ['walk', 'walk_2'], report);
    expect(faces.map((f) => `${f.video}:${f.frame}`)).toEqual(['walk:0', 'walk_2:0', 'walk:2', 'walk_2:2', 'walk:4', 'walk_2:4']);
    expect(report.build().skipped).toEqual([{ reason: 'one frame in 2 kept', count: 4 }]);
  });

  it("refuses a row naming a folder that is not one of the video's tracks, with file and line", async () => {
    writeFileSync(softLabelFile(cache, 'heldout', 'k1'), [{ folder: 'heldout', frame: 1, p }, { folder: 'train_video', frame: 1, p }].map((r) => JSON.stringify(r)).join('\n'));
    await expect(readSoftLabels(cache, 'heldout', 'k1', 1, ['heldout'], new ReportBuilder('test'))).rejects.toThrow(/heldout\.soft\.k1\.jsonl:2: .*train_video/);
  });
});
