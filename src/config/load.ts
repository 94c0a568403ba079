import { readFileSync, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { defaultStoreDir, isBareModelName } from '../core/model-names.js';
import { configSchema, type Config } from './schema.js';

/** CLI flags that override the file. */
export interface ConfigOverrides {
  readonly host?: string;
  readonly port?: number;
  readonly fileRoots?: readonly string[];
  readonly logLevel?: string;
  readonly backend?: string;
  readonly model?: string;
  readonly engine?: string;
  /** `--device`: model.device and detector.device both. */
  readonly device?: string;
  readonly stride?: number;
  readonly smoothing?: string;
  readonly analysisFps?: number;
  readonly token?: string;
}

/** The only environment variables the daemon reads (explicit whitelist). */
export const ENV_VARS = {
  DAEMON_HOST: 'server.host',
  DAEMON_PORT: 'server.port',
  DAEMON_LOG_LEVEL: 'log.level',
  DAEMON_BACKEND: 'backend',
  DAEMON_TOKEN: 'auth.token',
} as const;

type Json = Record<string, unknown>;

function setPath(obj: Json, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[keys[keys.length - 1]!] = value;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function describe(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

/** Duplicate ids among the raw stream entries, checked beside the schema so all problems come together. */
function duplicateIds(streams: unknown): string[] {
  if (!Array.isArray(streams)) return [];
  const seen = new Set<string>();
  const out: string[] = [];
  streams.forEach((s: unknown, i) => {
    const id = typeof s === 'object' && s !== null ? (s as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') return;
    if (seen.has(id)) out.push(`streams.${i}.id: duplicate stream id ${JSON.stringify(id)}`);
    seen.add(id);
  });
  return out;
}

/**
 * YAML file + env whitelist + CLI flags (in rising precedence), validated once; every problem is
 * reported together in one ConfigError, and the result is frozen.
 */
export function loadConfig(opts: { file?: string; overrides?: ConfigOverrides; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Config {
  const problems: string[] = [];
  const cwd = opts.cwd ?? process.cwd();
  let raw: Json = {};
  if (opts.file !== undefined) {
    try {
      const parsed: unknown = parseYaml(readFileSync(opts.file, 'utf8'));
      if (parsed === null || parsed === undefined) raw = {};
      else if (typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Json;
      else problems.push(`${opts.file}: the top level must be a mapping`);
    } catch (err) {
      problems.push(`${opts.file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  const env = opts.env ?? process.env;
  // Which variable set a key, so a schema problem can name it.
  const setBy = new Map<string, string>();
  for (const [name, key] of Object.entries(ENV_VARS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (key === 'server.port') {
      // Plain decimal digits only: Number() would also take '1e3', '0x50', ' 80' and '8080.0'.
      if (!/^\d{1,5}$/.test(value)) problems.push(`${name}: expected an integer port 0..65535, got ${JSON.stringify(value)}`);
      else setPath(raw, key, Number(value));
    } else setPath(raw, key, value);
    setBy.set(key, name);
  }
  const o = opts.overrides ?? {};
  if (o.host !== undefined) {
    setPath(raw, 'server.host', o.host);
    setBy.set('server.host', '--host');
  }
  if (o.port !== undefined) {
    if (!Number.isInteger(o.port)) problems.push(`--port: expected an integer, got ${String(o.port)}`);
    else setPath(raw, 'server.port', o.port);
  }
  if (o.fileRoots !== undefined && o.fileRoots.length > 0) setPath(raw, 'files.roots', [...o.fileRoots]);
  if (o.logLevel !== undefined) setPath(raw, 'log.level', o.logLevel);
  if (o.backend !== undefined) setPath(raw, 'backend', o.backend);
  if (o.model !== undefined) setPath(raw, 'model.dir', o.model);
  if (o.engine !== undefined) setPath(raw, 'model.engine', o.engine);
  if (o.device !== undefined) {
    setPath(raw, 'model.device', o.device);
    setPath(raw, 'detector.device', o.device);
  }
  if (o.stride !== undefined) setPath(raw, 'model.stride', o.stride);
  if (o.smoothing !== undefined) setPath(raw, 'model.smoothing', o.smoothing);
  if (o.analysisFps !== undefined) setPath(raw, 'analysis.analysisFps', o.analysisFps);
  if (o.token !== undefined) {
    setPath(raw, 'auth.token', o.token);
    setBy.set('auth.token', '--token');
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    problems.push(
      ...describe(result.error.issues).map((p, i) => {
        const by = setBy.get(result.error.issues[i]!.path.join('.'));
        return by !== undefined ? `${p} (from ${by})` : p;
      }),
    );
  }
  problems.push(...duplicateIds(raw.streams));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const cfg = result.data;
  cfg.files.roots = cfg.files.roots.map((r) => path.resolve(cwd, r));
  if (cfg.model.dir !== null) {
    // A model named in a config file sits beside that file (as config/default.yaml's default model
    // does), so the file works from any working directory; --model is relative to the cwd.
    const base = o.model === undefined && opts.file !== undefined ? path.dirname(path.resolve(cwd, opts.file)) : cwd;
    cfg.model.dir = resolveModelDir(cfg.model.dir, base, cfg.models.store !== null ? path.resolve(cwd, cfg.models.store) : defaultStoreDir(env), o.model !== undefined ? '--model' : 'model.dir');
  }
  if (cfg.models.store !== null) cfg.models.store = path.resolve(cwd, cfg.models.store);
  if (cfg.models.catalog !== null) cfg.models.catalog = path.resolve(cwd, cfg.models.catalog);
  if (cfg.persistence.file !== null) cfg.persistence.file = path.resolve(cwd, cfg.persistence.file);
  return deepFreeze(cfg);
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * `model.dir` is a directory (relative to `base`) or, when it is a bare name that is no directory
 * there, a model of the store (`daemon models pull NAME` puts it there).
 */
function resolveModelDir(ref: string, base: string, store: string, by: string): string {
  const local = path.resolve(base, ref);
  if (!isBareModelName(ref) || isDir(local)) return local;
  const inStore = path.join(store, ref);
  if (isDir(inStore)) return inStore;
  throw new ConfigError([`${by}: ${JSON.stringify(ref)} is neither a directory (${local}) nor a model of the store (${store}): \`daemon models pull ${ref}\` fetches a catalogued model, \`daemon models list\` shows the store`]);
}

/** Where a setting came from, for messages: the CLI flag or environment variable that set it, if any. */
function sourceOf(key: string, opts: { overrides?: ConfigOverrides; env?: NodeJS.ProcessEnv }): string | undefined {
  if (key === 'server.host' && opts.overrides?.host !== undefined) return '--host';
  const env = opts.env ?? process.env;
  const name = Object.entries(ENV_VARS).find(([n, k]) => k === key && env[n] !== undefined && env[n] !== '')?.[0];
  return name;
}

/**
 * Checks that only the network can answer, made at start before anything is loaded: the listen
 * host must resolve (a name that does not is a configuration error, exit 2, not a failed start).
 */
export async function checkListenHost(cfg: Config, opts: { overrides?: ConfigOverrides; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const host = cfg.server.host;
  try {
    await lookup(host);
  } catch (err) {
    const by = sourceOf('server.host', opts);
    const code = (err as NodeJS.ErrnoException).code ?? 'lookup failed';
    throw new ConfigError([`server.host: ${JSON.stringify(host)} does not resolve (${code}): use an IP address or a name this machine resolves${by !== undefined ? ` (from ${by})` : ''}`]);
  }
}
