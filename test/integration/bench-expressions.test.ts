import { describe, expect, it } from 'vitest';
import { benchExpressions, formatBenchExpressions } from '../../src/bench/expressions/expressions.js';
import { packagedTeachersDir } from '../../src/paths.js';
import { media } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

describe('daemon bench expressions', () => {
  it('measures each packaged member, their ensemble and any further model directory on the same faces', async () => {
    // A CNN-RNN directory stands in for a trained student: one more row, decided per track.
    const student = await importTestModel('cnn-rnn');
    const r = await benchExpressions({ inputs: [media('single_face.mp4'), media('multi_face.jpg')], models: [packagedTeachersDir, student], backend: 'wasm' });
    expect(r.rows.map((x) => x.row)).toEqual(['human-emotion', 'face-api-expression', 'packaged-teachers (ensemble)', 'seed-cnn-rnn']);
    expect(r.faces).toBeGreaterThan(70);
    for (const row of r.rows) {
      expect(row.faces).toBe(r.faces);
      expect(row.agreement.faces).toBe(r.faces);
      expect(row.msPerFace).toBeGreaterThan(0);
      expect(row.raw.seconds).toBeGreaterThan(2);
      // Smoothing never adds label changes on these clips.
      expect(row.smoothed.changes).toBeLessThanOrEqual(row.raw.changes);
    }
    const ref = r.rows[2]!;
    expect(ref.agreement).toEqual({ faces: r.faces, top1: 1, meanKl: 0 });
    expect(r.pairs).toHaveLength(6);
    const text = formatBenchExpressions(r);
    expect(text).toContain('| human-emotion |');
    expect(text).toMatch(/human-emotion vs face-api-expression: top-1 \d+\.\d%/);
  }, 300_000);

  it('names a missing input', async () => {
    await expect(benchExpressions({ inputs: ['/nonexistent/clip.mp4'], models: [packagedTeachersDir], backend: 'wasm' })).rejects.toThrow(/--input \/nonexistent\/clip\.mp4: not found/);
  });
});
