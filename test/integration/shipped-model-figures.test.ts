/**
 * The figures the shipped expression models carry in their manifests are named for what they are:
 * agreement with the packaged classifiers' ensemble (which contains the default model itself) is
 * not called accuracy, and the one hand-labelled figure says it is the set the crop was chosen on.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePackagedManifest } from '../../src/models/packaged/manifest.js';
import { parseManifest } from '../../src/models/seed/manifest.js';
import { repoRoot } from '../helpers/media.js';

const read = (name: string): unknown => JSON.parse(readFileSync(path.join(repoRoot, 'config', 'models', name, 'manifest.json'), 'utf8'));

describe('figures in the shipped expression models’ manifests', () => {
  const defaultModel = parsePackagedManifest(read('default-expressions'), 'default-expressions');
  const student = parseManifest(read('student-expressions'), 'student-expressions');

  it('agreement with the teachers’ ensemble is named agreement, never a bare top-1', () => {
    for (const m of [defaultModel.provenance.metrics ?? {}, student.provenance.metrics ?? {}]) {
      const keys = Object.keys(m);
      expect(keys.filter((k) => /top1/i.test(k) && !/top1Agreement/.test(k))).toEqual([]);
      expect(keys.some((k) => k.endsWith('.top1AgreementWithTeacherEnsemble'))).toBe(true);
    }
  });

  it('both caveats are stated where the figures are: the ensemble contains the model, the 14 faces chose the crop', () => {
    const notes = (defaultModel.provenance.notes ?? []).join('\n');
    expect(notes).toMatch(/top1AgreementWithTeacherEnsemble is not accuracy[^\n]*contains this model itself/);
    expect(Object.keys(defaultModel.provenance.metrics ?? {}).filter((k) => k.startsWith('handLabelled'))).toEqual(
      expect.arrayContaining(['handLabelledCropSelection.faces', 'handLabelledCropSelection.correct']),
    );
    expect(notes).toMatch(/handLabelledCropSelection: [^\n]*the set the crop[^\n]*was chosen on/);
    expect(student.provenance.source).toMatch(/agreement, not accuracy/);
  });
});
