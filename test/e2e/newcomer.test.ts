// What a newcomer meets following the README from a fresh clone: the command that answers at
// once, an install and start-up without alarming noise, and help that tells the defaults that run.
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { defaultConfigPath } from '../../src/paths.js';
import { repoRoot } from '../helpers/media.js';
import { spawnDaemon } from '../helpers/spawn-daemon.js';

const run = promisify(execFile);

/** Every file under dir with its mtime, to tell whether anything rewrote it. */
function mtimes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.set(path.join(e.parentPath, e.name), statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return out;
}

/** A clone's files (no dist/) beside the installed node_modules, as `git clone` + `npm ci` leave them. */
function cloneLike(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-clone-'));
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'src', 'config', 'tools']) {
    cpSync(path.join(repoRoot, f), path.join(dir, f), { recursive: true, filter: (s) => !s.endsWith('.onnx') });
  }
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

describe('a fresh clone', () => {
  it('answers `npx daemon --help` on its first call without rebuilding dist/ (npm ci built it); a later source change is rebuilt', async () => {
    const dir = cloneLike();
    // A fresh npm cache: npx's first call in this project, as on a newcomer's machine.
    const env = { ...process.env, npm_config_cache: path.join(dir, '.npm-cache'), npm_config_update_notifier: 'false' };
    try {
      // What `npm ci` runs after installing: the prepare script builds dist/.
      await run('npm', ['run', 'prepare'], { cwd: dir, env, timeout: 300_000 });
      const before = mtimes(path.join(dir, 'dist'));
      expect(before.size).toBeGreaterThan(50);
      const { stdout } = await run('npx', ['daemon', '--help'], { cwd: dir, env, timeout: 300_000 });
      expect(stdout).toContain('Usage: daemon');
      // Nothing under dist/ was rewritten (tsc rewrites every output it emits).
      expect(mtimes(path.join(dir, 'dist'))).toEqual(before);
      // The documented newcomer form answers too.
      expect((await run(process.execPath, ['bin/daemon.js', 'run', '--help'], { cwd: dir, env })).stdout).toContain('Usage: daemon run');
      expect(mtimes(path.join(dir, 'dist'))).toEqual(before);

      // A later edit (git pull) to a source file: the next install compiles it.
      cpSync(path.join(repoRoot, 'src', 'paths.ts'), path.join(dir, 'src', 'paths.ts'));
      await run('npm', ['run', 'prepare'], { cwd: dir, env, timeout: 300_000 });
      expect(statSync(path.join(dir, 'dist', 'cli.js')).mtimeMs).toBeGreaterThan(before.get(path.join(dir, 'dist', 'cli.js'))!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 700_000);

  it('says how to build when dist/ is missing, instead of a module-resolution stack trace', async () => {
    const dir = cloneLike();
    try {
      const child = spawn(process.execPath, ['bin/daemon.js', '--help'], { cwd: dir });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toContain('npm run build');
      expect(stderr).not.toContain('ERR_MODULE_NOT_FOUND');
      expect(stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm in the project', () => {
  it('prints no "Unknown project config" warning on an npm command', async () => {
    const { stdout, stderr } = await run('npm', ['pkg', 'get', 'name'], { cwd: repoRoot });
    expect(stdout.trim()).toBe('"affect-daemon"');
    expect(stderr).not.toMatch(/Unknown (project|env|user) config/);
  });

  it("skips onnxruntime-node's CUDA download (which fails offline) by policy in package.json, not by an unknown npm config", async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
  });
});

describe('start-up noise', () => {
  const alarms = [/Hi, looks like you are running TensorFlow\.js/, /Cannot find package/, /backend unavailable/];

  it('`daemon --help` and `daemon run --help` print help only: nothing on stderr', async () => {
    for (const args of [['--help'], ['run', '--help']]) {
      const d = spawnDaemon(args);
      expect(await d.exited).toBe(0);
      expect(d.stderr.join(''), args.join(' ')).toBe('');
    }
  });

  it('`daemon run` (cpu backend, where TF.js greets Node users) logs neither the TF.js banner nor missing optional backends', async () => {
    const d = spawnDaemon(['run', '--port', '0', '--backend', 'cpu']);
    try {
      await d.port();
      // The banner comes with the first tensor on the CPU backend: wait for analysed frames.
      const deadline = Date.now() + 90_000;
      while (!d.stdout.some((l) => l.includes('"msg":"TF.js backend selected"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const port = await d.port();
      for (;;) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const m = /^va_frames_analysed_total\{stream="demo"\} (\d+)/m.exec(text);
        if (m && Number(m[1]) >= 5) break;
        if (Date.now() > deadline) throw new Error('no analysed frames');
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
    const all = d.stderr.join('') + d.stdout.join('\n');
    for (const re of alarms) expect(all).not.toMatch(re);
    const selected = d.stdout.filter((l) => l.includes('TF.js backend selected'));
    expect(selected).toHaveLength(1);
  }, 180_000);

  it('auto selection logs the optional backends that are not installed once, at debug', async () => {
    const d = spawnDaemon(['run', '--port', '0', '--log-level', 'debug']);
    try {
      await d.port();
    } finally {
      d.child.kill('SIGTERM');
      await d.exited;
    }
    const lines = d.stdout.map((l) => JSON.parse(l) as { level: number; msg: string; notInstalled?: string[] });
    const missing = lines.filter((l) => l.msg === 'optional TF.js backends not installed');
    expect(missing).toHaveLength(1);
    expect(missing[0]!.level).toBe(20);
    expect(missing[0]!.notInstalled).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(lines.filter((l) => l.level >= 40 && /backend/i.test(l.msg))).toEqual([]);
    expect(d.stderr.join('')).not.toMatch(/Cannot find package|Hi, looks like/);
  }, 120_000);
});

describe('`daemon run --help`', () => {
  it('shows the defaults that run: the embedded config for `daemon run`, the schema for a --config file that omits a key', async () => {
    const d = spawnDaemon(['run', '--help']);
    expect(await d.exited).toBe(0);
    const help = d.stdout.join('\n').replace(/\s+/g, ' ');
    const embedded = loadConfig({ file: defaultConfigPath, env: {} });
    const schema = configSchema.parse({});
    // Different in the embedded config than in the schema: both are shown.
    expect(embedded.model.smoothing).not.toBe(schema.model.smoothing);
    expect(help).toContain(`--smoothing <kind> per-track smoothing of affect outputs (default: ${embedded.model.smoothing}; ${schema.model.smoothing} in a --config file that does not set it) (choices: "off", "ema", "one-euro")`);
    expect(help).toContain(`default: ${embedded.analysis.analysisFps}; every frame in a --config file that does not set it`);
    expect(help).toContain('default: models/default-expressions (the embedded config); none in a --config file that does not set it: faces only');
    // The same in both: one default.
    expect(help).toMatch(new RegExp(`--port <n> .*default: ${schema.server.port}[;)]`));
    expect(help).toContain(`default: ${schema.server.host})`);
    expect(help).toContain(`default: ${schema.model.stride})`);
    expect(help).toContain('default: the working directory');
  });

  it('config/default.yaml and config/streams.example.yaml agree with the schema where they claim its defaults', () => {
    // streams.example.yaml lists "every section with its defaults": each scalar it sets (the
    // example streams aside) is the schema's default.
    const example = loadConfig({ file: path.join(repoRoot, 'config', 'streams.example.yaml'), env: {} });
    const schema = configSchema.parse({});
    const { streams: _e, files: ef, model: em, ...restExample } = example;
    const { streams: _s, files: sf, model: sm, ...restSchema } = schema;
    expect(restExample).toEqual(restSchema);
    expect({ ...em, dir: null }).toEqual({ ...sm, dir: null });
    expect(ef.allowNestedFormats).toBe(sf.allowNestedFormats);
  });

  it('config/streams.example.yaml shows every key of every section, as it claims', () => {
    const raw = parseYaml(readFileSync(path.join(repoRoot, 'config', 'streams.example.yaml'), 'utf8')) as Record<string, unknown>;
    const missing: string[] = [];
    for (const [section, value] of Object.entries(configSchema.parse({}))) {
      if (!(section in raw)) missing.push(section);
      else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const given = raw[section] as Record<string, unknown>;
        for (const key of Object.keys(value)) if (!(key in given)) missing.push(`${section}.${key}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
