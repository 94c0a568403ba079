/**
 * The built CLI as a user runs it: `import-seed` → `predict` on fixture faces (numbers equal
 * PyTorch's), errors as one stderr line and exit 1, and `bench model` reporting a backend that
 * cannot start on this machine as unavailable.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { media, repoRoot } from '../helpers/media.js';
import { spawnDaemon } from '../helpers/spawn-daemon.js';

const fx = path.join(repoRoot, 'test/fixtures/seed');
const expected = JSON.parse(readFileSync(path.join(fx, 'expected.json'), 'utf8')) as {
  cnn: { ensemble: { '134': { au_prob: number[]; expr_prob: number[]; valence: number; arousal: number }[] } };
};
const dir = mkdtempSync(path.join(tmpdir(), 'predict-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const d = spawnDaemon(args, env);
  const code = await d.exited;
  // Let the last buffered chunks arrive.
  await new Promise((r) => setTimeout(r, 20));
  return { code, stdout: d.stdout.join('\n'), stderr: d.stderr.join('') };
}

describe('daemon import-seed / predict / bench model', () => {
  const model = path.join(dir, 'cnn');
  const faces = path.join(dir, 'faces');

  it('imports the checkpoints and predicts on a directory of faces, matching PyTorch', async () => {
    const files = ['cnn_member0.pth', 'cnn_member1_legacy.pth'].map((f) => path.join(fx, f));
    const imp = await cli(['import-seed', '--kind', 'cnn', '--roles', 'student,student', '--training-data', 'none (random reference weights)', '--out', model, ...files]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stderr).toMatch(/imported 2 cnn member\(s\) \(student_0:student, student_1:student\)/);
    const manifest = JSON.parse(readFileSync(path.join(model, 'manifest.json'), 'utf8')) as { provenance: { tool: string; trainingData: string[]; importedFrom: { file: string }[] } };
    expect(manifest.provenance.tool).toBe('daemon import-seed');
    expect(manifest.provenance.trainingData).toEqual(['none (random reference weights)']);
    expect(manifest.provenance.importedFrom.map((f) => f.file)).toEqual(['cnn_member0.pth', 'cnn_member1_legacy.pth']);

    mkdirSync(faces);
    for (let i = 0; i < 6; i++) copyFileSync(path.join(fx, `faces/face${i}_134.png`), path.join(faces, `frame_${i}.png`));
    const out = path.join(dir, 'out.jsonl');
    const p = await cli(['predict', '--model', model, '--input', faces, '--out', out, '--backend', 'wasm', '--batch', '4']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe('');
    expect(p.stderr).toMatch(/done: 6 row\(s\) from 6 image\(s\)/);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { frame: number; source: string; au: { probs: number[] }; va: { valence: number } });
    expect(rows.map((r) => [r.frame, r.source])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, `frame_${i}.png`]));
    rows.forEach((r, i) => {
      const want = expected.cnn.ensemble['134'][i];
      r.au.probs.forEach((v, j) => expect(Math.abs(v - (want?.au_prob[j] ?? NaN))).toBeLessThan(1e-4));
      expect(Math.abs(r.va.valence - (want?.valence ?? NaN))).toBeLessThan(1e-4);
    });
  });

  it('fails with one clear stderr line and exit 1', async () => {
    writeFileSync(path.join(dir, 'not-a-video.mp4'), 'hello');
    // Independent refusals: the six CLIs run at once.
    const [refuse, kind, missing, bad, noOut, onlyNoRender] = await Promise.all([
      cli(['import-seed', '--kind', 'cnn', '--out', model, path.join(fx, 'cnn_member0.pth')]),
      cli(['import-seed', '--kind', 'cnn-rnn', '--out', path.join(dir, 'x'), path.join(fx, 'cnn_member0.pth')]),
      cli(['predict', '--model', path.join(dir, 'nope'), '--input', faces, '--out', path.join(dir, 'o-missing.csv'), '--backend', 'wasm']),
      cli(['predict', '--model', model, '--input', path.join(dir, 'not-a-video.mp4'), '--out', path.join(dir, 'o.csv'), '--backend', 'wasm']),
      cli(['predict', '--model', model, '--input', faces]),
      cli(['predict', '--model', model, '--input', faces, '--render-only']),
    ]);
    expect(refuse.code).toBe(1);
    expect(refuse.stderr).toMatch(/error \[VA_ERR_BAD_REQUEST\]: --out .*: the directory is not empty \(use --force/);
    expect(kind.code).toBe(1);
    expect(kind.stderr).toMatch(/model kind: expected cnn-rnn, the weights are cnn/);
    expect(existsSync(path.join(dir, 'x'))).toBe(false);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error \[VA_ERR_MODEL_FILES\]: .*nope\/manifest\.json: cannot read the model manifest/);
    expect(existsSync(path.join(dir, 'o-missing.csv'))).toBe(false);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error \[VA_ERR_SOURCE_OPEN\]: not a readable media file/);
    expect(existsSync(path.join(dir, 'o.csv'))).toBe(false);
    expect(noOut.code).toBe(1);
    expect(noOut.stderr).toMatch(/error \[VA_ERR_BAD_REQUEST\]: --out <file> is required \(unless --render-only\)/);
    expect(onlyNoRender.code).toBe(1);
    expect(onlyNoRender.stderr).toMatch(/--render-only needs --render <file>/);
  });

  it('bench model reports frames/s per backend, and a backend that cannot load as unavailable with its reason', async () => {
    // tfjs-node is made unloadable in the bench's process (test/fixtures/loaders), so the test
    // does not depend on whether this machine could download libtensorflow.
    const unloadable = (mode: 'missing' | 'broken'): NodeJS.ProcessEnv => ({ NODE_OPTIONS: `--import ${path.join(repoRoot, 'test', 'fixtures', 'loaders', 'tfjs-node-unloadable.mjs')}`, TFJS_NODE_UNLOADABLE: mode });
    const args = ['bench', 'model', '--arch', 'compact', '--batch', '2', '--seconds', '1', '--json'];
    const [b, broken] = await Promise.all([cli([...args, '--backend', 'wasm,tensorflow'], unloadable('missing')), cli([...args, '--backend', 'wasm,tensorflow'], unloadable('broken'))]);
    expect(b.code, b.stderr).toBe(0);
    const reports = JSON.parse(b.stdout) as { requested: string; available: boolean; framesPerSecond?: number; stageMs?: { backbone: number }; error?: string }[];
    expect(reports.map((r) => [r.requested, r.available])).toEqual([
      ['wasm', true],
      ['tensorflow', false],
    ]);
    expect(reports[0]?.framesPerSecond).toBeGreaterThan(0);
    expect(reports[0]?.stageMs?.backbone).toBeGreaterThan(0);
    expect(reports[1]?.error).toMatch(/tensorflow: @tensorflow\/tfjs-node is not installed/);
    expect(broken.code, broken.stderr).toBe(0);
    const [, failed] = JSON.parse(broken.stdout) as { requested: string; available: boolean; error?: string }[];
    expect(failed).toMatchObject({ requested: 'tensorflow', available: false });
    expect(failed?.error).toMatch(/libtensorflow\.so\.2: cannot open shared object file/);
  });

  it('predicts with the default (packaged expression) model on a video: expression columns, no AU or VA', async () => {
    const out = path.join(dir, 'default.csv');
    const r = await cli(['predict', '--model', 'config/models/default-expressions', '--input', media('single_face.mp4'), '--out', out, '--members', '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/model default-expressions 1: packaged-expression cnn, 1 member\(s\), expressions only/);
    const [header, ...rows] = readFileSync(out, 'utf8').trim().split('\n');
    const cols = header!.split(',');
    expect(cols.slice(0, 4)).toEqual(['frame', 'source', 'trackId', 'pts']);
    expect(cols).toContain('expr.probs.Happiness');
    expect(cols).toContain('members.face-api-expression.expr.label');
    expect(cols.some((c) => c.includes('au.') || c.includes('va.'))).toBe(false);
    expect(rows.length).toBeGreaterThan(60);
    const label = cols.indexOf('expr.label');
    for (const row of rows) expect(['Neutral', 'Anger', 'Disgust', 'Fear', 'Happiness', 'Sadness', 'Surprise']).toContain(row.split(',')[label]);
  }, 180_000);
});
