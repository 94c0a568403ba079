import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../streams/encode-image.js';
import { readAffWild2, readAffWild2Split } from './aff-wild2.js';
import { writeSyntheticAffWild2, type SyntheticAffWild2 } from './synthetic.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'affwild2-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = encodePng(new Uint8Array(16 * 16 * 3).fill(100), 16, 16);

async function fixture(name: string, files: Record<string, string>, images: Record<string, number[]>): Promise<{ annotations: string; images: string }> {
  const base = path.join(root, name);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(base, 'annot', rel)), { recursive: true });
    await writeFile(path.join(base, 'annot', rel), text);
  }
  for (const [video, frames] of Object.entries(images)) {
    await mkdir(path.join(base, 'img', video), { recursive: true });
    for (const k of frames) await writeFile(path.join(base, 'img', video, `${String(k).padStart(5, '0')}.jpg`), tiny);
  }
  return { annotations: path.join(base, 'annot'), images: path.join(base, 'img') };
}

describe('Aff-Wild2 reader', () => {
  it('keeps frames with an image and no missing marker; line k+2 is image {k+1:05d}.jpg', async () => {
    const src = await fixture(
      'basic',
      {
        'AU_Set/Training_Set/v1.txt': 'AU1,AU2,AU4,AU6,AU12,AU15,AU20,AU25\n0,1,0,0,1,0,0,1\n1,1,1,1,1,1,1,1\n0,0,0,-1,0,0,0,0\n1,0,0,0,0,0,0,0\n',
        'AU_Set/Validation_Set/v2.txt': 'header\r\n0,0,0,0,0,0,0,1\r\n',
        'EXPR_Set/Training_Set/v1.txt': 'Neutral,...\n4\n-1\n6\n0',
        'EXPR_Set/Validation_Set/v2.txt': 'h\n3\n',
        'VA_Set/Training_Set/v1.txt': 'valence,arousal\n0.5,-0.25\n-5,-5\n-1,1\n0.1,0.2\n',
        'VA_Set/Validation_Set/v2.txt': 'h\n0,0\n',
      },
      // v1 has images for frames 0, 1, 2 (files 00001..00003); frame 3 has no face image.
      { v1: [1, 2, 3], v2: [1] },
    );
    const au = await readAffWild2('AU', src);
    expect(au.train.map((f) => [f.frame, f.au])).toEqual([
      [0, [0, 1, 0, 0, 1, 0, 0, 1]],
      [1, [1, 1, 1, 1, 1, 1, 1, 1]],
    ]);
    expect(au.train[0]).toMatchObject({ video: 'v1', image: path.join(src.images, 'v1', '00001.jpg') });
    expect(au.val).toHaveLength(1);
    const [tr] = au.reports;
    expect(tr!.kept).toBe(2);
    expect(tr!.skipped).toEqual([
      { reason: 'missing label (-1)', count: 1, example: 'v1 frame 2' },
      { reason: 'no face image for the frame', count: 1, example: path.join('v1', '00004.jpg') },
    ]);
    const expr = await readAffWild2('EXPR', src);
    expect(expr.train.map((f) => [f.frame, f.expr])).toEqual([[0, 4], [2, 6]]);
    const va = await readAffWild2('VA', src);
    expect(va.train.map((f) => [f.frame, f.va])).toEqual([[0, [0.5, -0.25]], [2, [-1, 1]]]);
    expect(va.reports[0]!.skipped.map((s) => s.reason)).toEqual(['missing label (-5)', 'no face image for the frame']);
  });

  it('a video without an image folder is skipped and reported, not an error', async () => {
    const src = await fixture('nofolder', { 'EXPR_Set/Training_Set/gone.txt': 'h\n1\n2\n-1\n' }, {});
    const r = await readAffWild2Split('EXPR', 'Training_Set', src);
    expect(r.faces).toHaveLength(0);
    expect(r.report.skipped).toEqual([
      { reason: 'no image folder for the video', count: 2, example: path.join(src.images, 'gone') },
      { reason: 'missing label (-1)', count: 1, example: 'gone frame 2' },
    ]);
  });

  it.each([
    ['AU', '0,1,0,0,1,0,0', /v\.txt:3: expected 8 comma-separated/],
    ['AU', '0,1,0,0,1,0,0,2', /v\.txt:3: AU values must be 0, 1 or -1/],
    ['AU', '0,1,0,0,x,0,0,1', /v\.txt:3: expected 8/],
    ['EXPR', '7', /v\.txt:3: expression must be an integer 0\.\.6/],
    ['EXPR', '2.5', /v\.txt:3: expression must be an integer/],
    ['EXPR', '', /v\.txt:3: expected 1 comma-separated/],
    ['VA', '0.5', /v\.txt:3: expected 2/],
    ['VA', '1.5,0', /v\.txt:3: valence and arousal must lie in \[-1, 1\]/],
    ['VA', '0x1,0', /v\.txt:3: expected 2/],
  ] as const)('malformed %s line %j → error naming file and line', async (task, bad, re) => {
    const dir = { AU: 'AU_Set', EXPR: 'EXPR_Set', VA: 'VA_Set' }[task];
    const good = { AU: '0,0,0,0,0,0,0,0', EXPR: '1', VA: '0,0' }[task];
    const src = await fixture(`bad-${task}-${bad}`, { [`${dir}/Training_Set/v.txt`]: `header\n${good}\n${bad}\n${good}\n` }, { v: [1, 2, 3] });
    await expect(readAffWild2Split(task, 'Training_Set', src)).rejects.toThrow(re);
    await expect(readAffWild2Split(task, 'Training_Set', src)).rejects.toMatchObject({ code: 'VA_ERR_DATA_FORMAT' });
  });

  it('an empty file and a missing split directory are errors naming the path', async () => {
    const src = await fixture('empty', { 'EXPR_Set/Training_Set/e.txt': '' }, {});
    await expect(readAffWild2Split('EXPR', 'Training_Set', src)).rejects.toThrow(/e\.txt:1: empty file/);
    await expect(readAffWild2Split('AU', 'Training_Set', src)).rejects.toThrow(/AU_Set\/Training_Set: no such directory/);
  });

  it('a label "file" that cannot be read (a directory named v.txt) is a data-format error naming it', async () => {
    const src = await fixture('unreadable', { 'VA_Set/Training_Set/v.txt/inner': 'x' }, {});
    await expect(readAffWild2Split('VA', 'Training_Set', src)).rejects.toMatchObject({ code: 'VA_ERR_DATA_FORMAT' });
    await expect(readAffWild2Split('VA', 'Training_Set', src)).rejects.toThrow(/v\.txt: cannot read the label file/);
  });
});

describe('synthetic Aff-Wild2 dataset', () => {
  let ds: SyntheticAffWild2;
  beforeAll(async () => {
    ds = await writeSyntheticAffWild2({ root: path.join(root, 'synthetic'), seed: 7, trainVideos: 3, valVideos: 1, framesPerVideo: 30, missingRate: 0.1, droppedImageRate: 0.1 });
  });

  it('reads back through the Aff-Wild2 reader with the true labels, skipping missing rows and dropped images', async () => {
    for (const task of ['AU', 'EXPR', 'VA'] as const) {
      const d = await readAffWild2(task, ds);
      const skippedTrain = d.reports[0]!.skipped;
      expect(skippedTrain.map((s) => s.reason).sort()).toEqual([task === 'VA' ? 'missing label (-5)' : 'missing label (-1)', 'no face image for the frame'].sort());
      expect(d.train.length + skippedTrain.reduce((a, s) => a + s.count, 0)).toBe(90);
      expect(d.val.length).toBeGreaterThan(15);
      for (const f of [...d.train, ...d.val]) {
        const t = ds.truth.get(f.video!)![f.frame!]!;
        if (task === 'AU') expect(f.au).toEqual(t.au);
        if (task === 'EXPR') expect(f.expr).toBe(t.expr);
        if (task === 'VA') expect(f.va).toEqual(t.va);
      }
    }
  });

  it('is deterministic in its seed', async () => {
    const again = await writeSyntheticAffWild2({ root: path.join(root, 'synthetic2'), seed: 7, trainVideos: 3, valVideos: 1, framesPerVideo: 30, missingRate: 0.1, droppedImageRate: 0.1 });
    expect([...again.truth]).toEqual([...ds.truth]);
    expect(again.imagesWritten).toBe(ds.imagesWritten);
    const other = await writeSyntheticAffWild2({ root: path.join(root, 'synthetic3'), seed: 8, trainVideos: 3, valVideos: 1, framesPerVideo: 30 });
    expect([...other.truth]).not.toEqual([...ds.truth]);
  });
});
