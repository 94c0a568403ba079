import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { defaultConfigPath } from '../paths.js';
import { checkListenHost, loadConfig } from './load.js';

function yamlFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'va-config-'));
  const file = path.join(dir, 'c.yaml');
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('loads the embedded default with the demo stream and documented defaults', () => {
    const cfg = loadConfig({ file: defaultConfigPath, env: {} });
    expect(cfg.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(cfg.streams).toEqual([{ id: 'demo', url: 'demo:', realtime: true, loop: true }]);
    expect(cfg.detector.detectEveryFrames).toBe(3);
    expect(cfg.files.roots).toEqual([process.cwd()]);
    // The packaged-expression default model, beside the config file whatever the cwd, smoothed.
    expect(cfg.model.dir).toBe(path.join(path.dirname(defaultConfigPath), 'models', 'default-expressions'));
    expect(loadConfig({ file: defaultConfigPath, env: {}, cwd: '/' }).model.dir).toBe(cfg.model.dir);
    expect(cfg.model.smoothing).toBe('ema');
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.server)).toBe(true);
  });

  it('accepts the documented example with every section', () => {
    const cfg = loadConfig({ file: path.join(path.dirname(defaultConfigPath), 'streams.example.yaml'), env: {} });
    expect(cfg.streams.map((st) => st.id)).toEqual(['lobby', 'clip']);
    expect(cfg.rtsp.reconnect.maxAttempts).toBe(0);
    expect(cfg.model.smoothing).toBe('off');
  });

  it('accepts the documented cluster example', () => {
    const cfg = loadConfig({ file: path.join(path.dirname(defaultConfigPath), 'cluster.example.yaml'), env: {} });
    expect(cfg.cluster).toMatchObject({ redis: 'redis://127.0.0.1:6379', leaseTtlMs: 10_000 });
    expect(cfg.sinks.map((s) => s.kind)).toEqual(['mqtt', 'nats', 'redis']);
  });

  it('reports every problem together', () => {
    const file = yamlFile(
      ['server:', '  port: 99999', '  bogus: 1', 'backend: tpu', 'streams:', '  - id: "bad id!"', '    url: ""', 'detector:', '  minScore: 2'].join('\n'),
    );
    let err: unknown;
    try {
      loadConfig({ file, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const field of ['server.port', 'server', 'backend', 'streams.0.id', 'streams.0.url', 'detector.minScore']) {
      expect(problems).toContain(field);
    }
    expect(problems).toMatch(/bogus/);
    expect((err as ConfigError).code).toBe('VA_ERR_CONFIG');
  });

  it('rejects duplicate stream ids and unreadable files', () => {
    const dup = yamlFile('streams:\n  - {id: a, url: "demo:"}\n  - {id: a, url: "demo:"}\n');
    expect(() => loadConfig({ file: dup, env: {} })).toThrow(/duplicate stream id "a"/);
    expect(() => loadConfig({ file: '/nonexistent/x.yaml', env: {} })).toThrow(/nonexistent\/x.yaml/);
    expect(() => loadConfig({ file: yamlFile('- 1\n- 2\n'), env: {} })).toThrow(/top level must be a mapping/);
  });

  it('resolves model.dir from a file against the file, --model against the cwd', () => {
    const file = yamlFile('model: {dir: m/x}\n');
    expect(loadConfig({ file, env: {}, cwd: '/srv' }).model.dir).toBe(path.join(path.dirname(file), 'm', 'x'));
    expect(loadConfig({ file, env: {}, cwd: '/srv', overrides: { model: 'y/z' } }).model.dir).toBe('/srv/y/z');
  });

  it('layers file < env whitelist < CLI flags', () => {
    const file = yamlFile('server: {port: 9000, host: 0.0.0.0}\nlog: {level: warn}\n');
    const env = { DAEMON_PORT: '9100', DAEMON_LOG_LEVEL: 'debug', DAEMON_UNRELATED: 'x' };
    const cfg = loadConfig({ file, env, overrides: { port: 9200, fileRoots: ['/srv/video'] } });
    expect(cfg.server.port).toBe(9200);
    expect(cfg.server.host).toBe('0.0.0.0');
    expect(cfg.log.level).toBe('debug');
    expect(cfg.files.roots).toEqual(['/srv/video']);
    expect(() => loadConfig({ file, env: { DAEMON_PORT: 'eighty' } })).toThrow(/DAEMON_PORT/);
  });

  it('reports duplicate stream ids together with every other problem', () => {
    const file = yamlFile('server: {port: -1}\nstreams:\n  - {id: a, url: "demo:"}\n  - {id: a, url: "demo:"}\n  - {id: b}\n');
    let err: unknown;
    try {
      loadConfig({ file, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toContain('server.port');
    expect(problems).toContain('streams.2.url');
    expect(problems).toMatch(/streams\.1\.id: duplicate stream id "a"/);
  });

  it('refuses environment values that are not what they claim, naming the variable', () => {
    for (const port of ['1e3', '0x50', ' 80', '80.0', '8080abc', '-1', '99999']) {
      expect(() => loadConfig({ env: { DAEMON_PORT: port } }), port).toThrow(/DAEMON_PORT/);
    }
    expect(loadConfig({ env: { DAEMON_PORT: '8081' } }).server.port).toBe(8081);
    expect(() => loadConfig({ env: { DAEMON_LOG_LEVEL: 'loud' } })).toThrow(/log\.level: .*\(from DAEMON_LOG_LEVEL\)/);
    expect(() => loadConfig({ env: { DAEMON_BACKEND: 'tpu' } })).toThrow(/\(from DAEMON_BACKEND\)/);
    expect(() => loadConfig({ env: { DAEMON_TOKEN: 'short' } })).toThrow(/auth\.token: .*\(from DAEMON_TOKEN\)/);
    expect(() => loadConfig({ env: { DAEMON_HOST: 'a b;rm' } })).toThrow(/server\.host: .*\(from DAEMON_HOST\)/);
  });

  it('refuses a token with whitespace or control characters, naming where it came from (nobody could send it)', () => {
    const good = 'abcdefghijklmnop-0123456789';
    for (const bad of [`${good}\n`, `${good}\r`, `abc def ghi jklmnop`, `${good}\t`, `${good}\u0000`, `${good}\u007f`, `${good}\u00a0`, `${good}\u2028`, `${good}\u200b`]) {
      const label = JSON.stringify(bad);
      expect(() => loadConfig({ env: { DAEMON_TOKEN: bad } }), label).toThrow(/auth\.token: .*\(from DAEMON_TOKEN\)/);
      expect(() => loadConfig({ env: {}, overrides: { token: bad } }), label).toThrow(/auth\.token: .*\(from --token\)/);
      expect(() => loadConfig({ file: yamlFile(`auth:\n  token: ${JSON.stringify(bad)}\n`), env: {} }), label).toThrow(/auth\.token: /);
      // The message never repeats the secret.
      try {
        loadConfig({ env: { DAEMON_TOKEN: bad } });
      } catch (err) {
        expect((err as Error).message).not.toContain(good);
      }
    }
    expect(loadConfig({ env: { DAEMON_TOKEN: good } }).auth.token).toBe(good);
    expect(loadConfig({ env: {}, overrides: { token: '~!@#$%^&*()_+{}|:"<>?`-=[];,./' } }).auth.token).toHaveLength(30);
  });

  it('refuses a listen host that does not resolve, naming where it came from', async () => {
    await expect(checkListenHost(loadConfig({ env: { DAEMON_HOST: 'no-such-host.invalid' } }), { env: { DAEMON_HOST: 'no-such-host.invalid' } })).rejects.toThrow(
      /server\.host: "no-such-host\.invalid" does not resolve.*\(from DAEMON_HOST\)/,
    );
    await expect(checkListenHost(loadConfig({ env: {}, overrides: { host: 'no-such-host.invalid' } }), { env: {}, overrides: { host: 'no-such-host.invalid' } })).rejects.toThrow(/\(from --host\)/);
    await expect(checkListenHost(loadConfig({ env: {}, overrides: { host: 'no-such-host.invalid' } }), { env: {}, overrides: { host: 'no-such-host.invalid' } })).rejects.toBeInstanceOf(ConfigError);
    await expect(checkListenHost(loadConfig({ env: {} }), { env: {} })).resolves.toBeUndefined();
    await expect(checkListenHost(loadConfig({ env: { DAEMON_HOST: 'localhost' } }), { env: {} })).resolves.toBeUndefined();
  });

  it('validates the allowed hosts and origins', () => {
    const ok = loadConfig({ file: yamlFile('server:\n  allowedHosts: ["cam.example.com", "10.0.0.5", "[fd00::1]", "*"]\n  allowedOrigins: ["https://dash.example.com", "HTTPS://Dash.Example.com/", "http://127.0.0.1:3000", "*"]\n'), env: {} });
    expect(ok.server.allowedHosts).toHaveLength(4);
    for (const bad of ['allowedHosts: ["cam.example.com:8080"]', 'allowedHosts: ["a/b"]', 'allowedHosts: ["ab:80"]', 'allowedOrigins: ["dash.example.com"]', 'allowedOrigins: ["https://x.example/path"]', 'allowedOrigins: ["null"]']) {
      expect(() => loadConfig({ file: yamlFile(`server:\n  ${bad}\n`), env: {} }), bad).toThrow(/server\.allowed/);
    }
  });
});
