/**
 * The catalogue that ships: it parses, names the authors' released files, and says what each
 * model was trained on and what its authors reported.
 */
import { describe, expect, it } from 'vitest';
import { builtinCatalogPath } from '../../paths.js';
import { expandName, loadCatalog } from './catalog.js';

describe('the built-in model catalogue', () => {
  it('parses; seed is the five CNN and five CNN-RNN students, each over HTTPS from the authors', async () => {
    const cat = await loadCatalog(builtinCatalogPath);
    const seed = expandName(cat, 'seed');
    expect(seed.map((e) => e.name)).toEqual(['seed-cnn', 'seed-cnn-rnn']);
    for (const { entry } of seed) {
      expect(entry.files).toHaveLength(5);
      expect(entry.files.every((f) => f.url.startsWith('https://hkustconnect-my.sharepoint.com/') && f.url.endsWith('download=1'))).toBe(true);
      expect(entry.files.every((f) => f.role === 'student')).toBe(true);
      expect(entry.trainedOn.join(' ')).toMatch(/Aff-Wild2/);
      expect(entry.licence).toMatch(/MIT/);
    }
    const [cnn] = expandName(cat, 'seed-cnn');
    // The authors' figures (their repository, issue 2), as numbers the manifest records.
    expect(cnn?.entry.reportedMetrics).toEqual({ 'aff-wild2-val.FAU': 0.626, 'aff-wild2-val.AU.F1': 0.3158, 'aff-wild2-val.AU.accuracy': 0.9362 });
    const [cnnRnn] = expandName(cat, 'seed-cnn-rnn');
    expect(cnnRnn?.entry.kind === 'cnn-rnn' ? cnnRnn.entry.seqLen : undefined).toBe(32);
    expect(expandName(cat, 'ferplus-resnet50')[0]?.entry.files.map((f) => f.name)).toEqual(['resnet50_ferplus_dag.pth']);
  });

  it('ferplus-expressions takes the same FER+ file, records FER+ and the source\'s accuracy, and says it was not measured here', async () => {
    const cat = await loadCatalog(builtinCatalogPath);
    const [fer] = expandName(cat, 'ferplus-expressions');
    const [backbone] = expandName(cat, 'ferplus-resnet50');
    expect(fer?.entry.kind).toBe('ferplus-expressions');
    expect(fer?.entry.files.map((f) => f.url)).toEqual(backbone?.entry.files.map((f) => f.url));
    expect(fer?.entry.trainedOn.join(' ')).toMatch(/FER\+/);
    expect(fer?.entry.reportedMetrics).toEqual({ 'ferplus-val.accuracy': 0.89, 'ferplus-test.accuracy': 0.876 });
    expect(fer?.entry.reported).toMatch(/not measured by this project/);
  });
});
