/**
 * One broken model directory, one error code: the daemon (its model on its own thread, in one
 * worker, in two) and `daemon predict` (on its thread, with two workers) open a model directory
 * through the same entry point, so they must refuse the same directory with the same code.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsError, ErrorCodes } from '../../src/core/errors.js';
import { QueuedAffectModel } from '../../src/models/affect/queued-affect-model.js';
import { predict } from '../../src/predict/predict.js';
import { repoRoot } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

let scratch: string;
let model: string;
const images = path.join(repoRoot, 'test', 'fixtures', 'jpeg');

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'va-model-dir-errors-'));
  model = await importTestModel('cnn');
}, 120_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(path.dirname(model), { recursive: true, force: true });
});

let seq = 0;
function brokenCopy(breakIt: (dir: string) => void): string {
  const dir = path.join(scratch, `m${seq++}`);
  cpSync(model, dir, { recursive: true });
  breakIt(dir);
  return dir;
}

const manifestOf = (dir: string): { members: { weights: string }[] } => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

const CASES: readonly { readonly name: string; readonly code: string; readonly breakIt: (dir: string) => void }[] = [
  { name: 'no manifest.json', code: ErrorCodes.MODEL_FILES, breakIt: (d) => unlinkSync(path.join(d, 'manifest.json')) },
  { name: 'manifest.json that is not JSON', code: ErrorCodes.MODEL_MANIFEST, breakIt: (d) => writeFileSync(path.join(d, 'manifest.json'), '{ not json') },
  {
    name: 'a manifest of an unknown architecture',
    code: ErrorCodes.MODEL_MANIFEST,
    breakIt: (d) => writeFileSync(path.join(d, 'manifest.json'), JSON.stringify({ ...manifestOf(d), architecture: 'vgg' })),
  },
  { name: "a member's weights description missing", code: ErrorCodes.MODEL_FILES, breakIt: (d) => unlinkSync(path.join(d, manifestOf(d).members[0]!.weights)) },
  {
    name: "a member's weight shard cut short",
    code: ErrorCodes.MODEL_FILES,
    breakIt: (d) => {
      const desc = JSON.parse(readFileSync(path.join(d, manifestOf(d).members[0]!.weights), 'utf8')) as { weightsManifest: { paths: string[] }[] };
      const shard = path.join(d, desc.weightsManifest[0]!.paths[0]!);
      truncateSync(shard, 1000);
    },
  },
];

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    const v = await p;
    throw new Error(`opened a broken model directory: ${String(v)}`);
  } catch (err) {
    if (!(err instanceof AnalyticsError)) throw err;
    return err.code;
  }
}

const engineOpts = { maxBatch: 4, maxWaitMs: 5, maxQueue: 16, backend: 'wasm', engine: 'tfjs', threads: 1 } as const;

describe('the same broken model directory gets the same error code everywhere', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.code} from the daemon (thread, one worker, two) and predict (thread, two workers)`, async () => {
      const dir = brokenCopy(c.breakIt);
      const out = path.join(scratch, `rows${seq++}.jsonl`);
      const codes = {
        daemonThread: await codeOf(QueuedAffectModel.load(dir, { ...engineOpts, worker: false })),
        daemonWorker: await codeOf(QueuedAffectModel.load(dir, { ...engineOpts, worker: true, workers: 1 })),
        daemonWorkers: await codeOf(QueuedAffectModel.load(dir, { ...engineOpts, worker: true, workers: 2 })),
        predictThread: await codeOf(predict({ model: dir, input: images, out, backend: 'wasm', engine: 'tfjs', workers: 1 })),
        predictWorkers: await codeOf(predict({ model: dir, input: images, out, backend: 'wasm', engine: 'tfjs', workers: 2 })),
      };
      expect(codes).toEqual({ daemonThread: c.code, daemonWorker: c.code, daemonWorkers: c.code, predictThread: c.code, predictWorkers: c.code });
    }, 120_000);
  }
});
