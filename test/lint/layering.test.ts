import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Folder layering, checked on every `npm test` by reading the import statements of src/:
 * data flows transport/supervisor → pipeline → models → core, engines stay in their folders.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = path.join(root, 'src');

interface Import {
  readonly file: string; // relative to src/, posix
  readonly specifier: string;
  /** For a relative specifier: the target, relative to src/ (posix). */
  readonly target?: string;
  readonly dynamic: boolean;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.test-d.ts') ? [p] : [];
  });
}

const STATIC = /^\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]/g;
/** Worker entry points are started by name (`script: './affect-worker'`), not imported. */
const WORKER_SCRIPT = /\bscript:\s*['"](\.\.?\/[^'"]+)['"]/g;

export function importsOf(file: string, text: string): Import[] {
  const rel = path.relative(src, file).split(path.sep).join('/');
  const out: Import[] = [];
  const add = (specifier: string, dynamic: boolean): void => {
    const target = specifier.startsWith('.') ? path.relative(src, path.resolve(path.dirname(file), specifier)).split(path.sep).join('/') : undefined;
    out.push({ file: rel, specifier, dynamic, ...(target !== undefined ? { target } : {}) });
  };
  for (const m of text.matchAll(STATIC)) add((m[1] ?? m[2]) as string, false);
  for (const m of text.matchAll(DYNAMIC)) add(m[1] as string, true);
  for (const m of text.matchAll(WORKER_SCRIPT)) add(`${m[1] as string}.js`, false);
  return out;
}

/** The top folder under src/ ('core', 'models', …), or the file name for src/*.ts. */
function layer(rel: string): string {
  return rel.split('/')[0] as string;
}

const all = walk(src).flatMap((f) => importsOf(f, readFileSync(f, 'utf8')));

/** src/-relative files reached from `entry` by static imports and worker scripts (not lazy `import()`). */
function reachedFrom(entry: string): Set<string> {
  const byFile = new Map<string, Import[]>();
  for (const i of all) byFile.set(i.file, [...(byFile.get(i.file) ?? []), i]);
  const seen = new Set<string>();
  const visit = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const i of byFile.get(f) ?? []) if (!i.dynamic && i.target !== undefined) visit(i.target.replace(/\.js$/, '.ts'));
  };
  visit(entry);
  return seen;
}

/**
 * Files of src/models the daemon does not load, each with the reason it still lives there.
 * Everything else in models/ must be reachable from the daemon's entry point.
 */
const MODELS_OFFLINE_ONLY: Readonly<Record<string, string>> = {
};

function violations(rule: (i: Import) => boolean): string[] {
  return all.filter(rule).map((i) => `${i.file} imports ${i.specifier}`);
}

const ENGINE = /^(@tensorflow\/|onnxruntime-)/;

describe('folder layering', () => {
  it('finds the imports it checks (the scanner works)', () => {
    expect(all.length).toBeGreaterThan(300);
    expect(all.some((i) => i.file === 'models/tf.ts' && i.specifier === '@tensorflow/tfjs-core')).toBe(true);
    expect(importsOf(path.join(src, 'x', 'a.ts'), "import type { A } from '../core/b.js';\nexport { c } from './c.js';\nawait import('node-av');\nimport './d.js';")).toEqual([
      { file: 'x/a.ts', specifier: '../core/b.js', target: 'core/b.js', dynamic: false },
      { file: 'x/a.ts', specifier: './c.js', target: 'x/c.js', dynamic: false },
      { file: 'x/a.ts', specifier: './d.js', target: 'x/d.js', dynamic: false },
      { file: 'x/a.ts', specifier: 'node-av', dynamic: true },
    ]);
  });

  it('only src/streams imports node-av', () => {
    expect(violations((i) => /^node-av(\/|$)/.test(i.specifier) && layer(i.file) !== 'streams')).toEqual([]);
  });

  it('only src/models and src/train import an inference engine (TF.js, ONNX Runtime)', () => {
    expect(violations((i) => ENGINE.test(i.specifier) && !['models', 'train'].includes(layer(i.file)))).toEqual([]);
  });

  it('src/models depends on core only (never pipeline, supervisor, transport, predict, streams, …)', () => {
    expect(violations((i) => layer(i.file) === 'models' && i.target !== undefined && !['models', 'core'].includes(layer(i.target)))).toEqual([]);
  });

  it('src/pipeline never imports the layers above it', () => {
    const above = ['supervisor', 'transport', 'predict', 'bench', 'daemon.ts', 'daemon', 'cli.ts', 'main.ts', 'train', 'import'];
    expect(violations((i) => layer(i.file) === 'pipeline' && i.target !== undefined && above.includes(layer(i.target)))).toEqual([]);
  });

  it('src/core imports nothing of ours', () => {
    expect(violations((i) => layer(i.file) === 'core' && i.target !== undefined && layer(i.target) !== 'core')).toEqual([]);
  });

  it('the offline tools (import/, train/, bench/, predict/) are imported only by each other and by the CLI', () => {
    const tools = ['import', 'train', 'bench', 'predict'];
    expect(violations((i) => i.target !== undefined && tools.includes(layer(i.target)) && !tools.includes(layer(i.file)) && i.file !== 'cli.ts')).toEqual([]);
  });

  it("the daemon's import graph never reaches the offline tools (import/, train/, bench/, predict/)", () => {
    const daemon = reachedFrom('main.ts');
    expect(daemon.has('daemon.ts')).toBe(true);
    expect(daemon.has('models/affect/affect-worker.ts')).toBe(true); // worker scripts are followed
    expect([...daemon].filter((f) => ['import', 'train', 'bench', 'predict'].includes(layer(f)))).toEqual([]);
  });

  it('src/models holds only what the daemon runs (or says why not)', () => {
    const daemon = reachedFrom('main.ts');
    const models = walk(path.join(src, 'models')).map((f) => path.relative(src, f).split(path.sep).join('/'));
    expect(models.length).toBeGreaterThan(50);
    expect(models.filter((f) => !daemon.has(f) && MODELS_OFFLINE_ONLY[f] === undefined)).toEqual([]);
    expect(Object.keys(MODELS_OFFLINE_ONLY).filter((f) => daemon.has(f) || !models.includes(f))).toEqual([]);
  });

  it('outside src/models a model directory is opened only through openAffectModel', () => {
    // The layers below the entry point; train reads member weights for training through
    // loadModelDir, which is a reading of weights, not a model that runs.
    const LOWER = /\b(loadAffectRunner|EnsembleRunner|PackagedRunner|affectService|openHost)\b/;
    const offenders = walk(src)
      .map((f) => path.relative(src, f).split(path.sep).join('/'))
      .filter((rel) => layer(rel) !== 'models' && LOWER.test(readFileSync(path.join(src, rel), 'utf8')));
    expect(offenders).toEqual([]);
    expect(all.filter((i) => i.target === 'models/affect/open-affect-model.js' && layer(i.file) !== 'models').length).toBeGreaterThan(2);
  });
});
