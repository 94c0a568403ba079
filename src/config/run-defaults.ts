import path from 'node:path';
import { defaultConfigPath } from '../paths.js';
import { loadConfig } from './load.js';
import { configSchema, type Config } from './schema.js';

/** A `daemon run` flag's default twice: in the embedded config (`daemon run` alone) and in the schema (a --config file that omits the key). */
export interface FlagDefault {
  readonly embedded: string;
  readonly schema: string;
}

export type RunFlag = 'host' | 'port' | 'fileRoot' | 'logLevel' | 'backend' | 'model' | 'engine' | 'stride' | 'smoothing' | 'analysisFps';

function shown(c: Config, flag: RunFlag, embedded: boolean): string {
  switch (flag) {
    case 'host':
      return c.server.host;
    case 'port':
      return String(c.server.port);
    case 'fileRoot':
      // loadConfig resolves the roots against the working directory; the schema's are as written.
      return c.files.roots.length === 1 && (c.files.roots[0] === '.' || c.files.roots[0] === process.cwd()) ? 'the working directory' : c.files.roots.join(', ');
    case 'logLevel':
      return c.log.level;
    case 'backend':
      return c.backend;
    case 'model':
      if (c.model.dir === null) return 'none';
      return embedded ? `${path.relative(path.dirname(defaultConfigPath), c.model.dir)} (the embedded config)` : c.model.dir;
    case 'engine':
      return c.model.engine;
    case 'stride':
      return String(c.model.stride);
    case 'smoothing':
      return c.model.smoothing;
    case 'analysisFps':
      return c.analysis.analysisFps === null ? 'every frame' : String(c.analysis.analysisFps);
  }
}

let cached: { embedded: Config; schema: Config } | undefined;

function configs(): { embedded: Config; schema: Config } {
  if (cached) return cached;
  const schema = configSchema.parse({});
  let embedded = schema;
  try {
    // Environment variables are overrides, not defaults: left out here.
    embedded = loadConfig({ file: defaultConfigPath, env: {} });
  } catch {
    // A broken embedded config is reported by `daemon run` itself; help still answers.
  }
  cached = { embedded, schema };
  return cached;
}

/** The default of a `daemon run` flag, from the same config and schema that `daemon run` validates with. */
export function runFlagDefault(flag: RunFlag): FlagDefault {
  const { embedded, schema } = configs();
  return { embedded: shown(embedded, flag, true), schema: shown(schema, flag, false) };
}

/** `default: X`, or `default: X; Y in a --config file that does not set it` where they differ. */
export function describeRunDefault(flag: RunFlag, schemaMeaning?: string): string {
  const d = runFlagDefault(flag);
  if (d.embedded === d.schema) return `default: ${d.schema}`;
  return `default: ${d.embedded}; ${d.schema} in a --config file that does not set it${schemaMeaning !== undefined ? `: ${schemaMeaning}` : ''}`;
}

/** Where `daemon run` with the embedded config listens for event subscribers. */
export function defaultEventsUrl(): string {
  const { host, port } = configs().embedded.server;
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `ws://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}/v1/events`;
}
