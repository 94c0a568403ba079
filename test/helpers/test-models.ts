import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { importSeedCommand } from '../../src/import/import-command.js';
import { repoRoot } from './media.js';

const fx = path.join(repoRoot, 'test', 'fixtures', 'seed');

/**
 * The reduced-width seed models of the fixtures (random, well-conditioned weights: for tests only,
 * never for publishing results), imported through the real import path into a model directory.
 */
export async function importTestModel(kind: 'cnn' | 'cnn-rnn'): Promise<string> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'va-model-')), kind);
  const files = kind === 'cnn' ? ['cnn_member0.pth', 'cnn_member1.pth'] : ['cnn_rnn_member0.pth', 'cnn_rnn_member1.pth'];
  await importSeedCommand({
    kind,
    ...(kind === 'cnn-rnn' ? { seqLen: 6 } : {}),
    files: files.map((f) => path.join(fx, f)),
    out,
  } as Parameters<typeof importSeedCommand>[0]);
  return out;
}
