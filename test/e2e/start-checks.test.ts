/**
 * Configuration that can only be found wrong when the daemon starts is still a configuration error:
 * the spawned CLI exits 2 with the problem on stderr, naming where the value came from.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';

let running: SpawnedDaemon | undefined;
afterEach(() => {
  if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
  running = undefined;
});

const TOKEN = 'start-checks-token-0123456789';

describe('start-up configuration checks (spawned CLI)', () => {
  it('exits 2 for a listen host that does not resolve (DAEMON_HOST or --host)', async () => {
    running = spawnDaemon(['run', '--port', '0'], { DAEMON_HOST: 'no-such-host.invalid', DAEMON_TOKEN: TOKEN });
    expect(await running.exited).toBe(2);
    expect(running.stderr.join('')).toMatch(/server\.host: "no-such-host\.invalid" does not resolve.*\(from DAEMON_HOST\)/);
    running = spawnDaemon(['run', '--port', '0', '--host', 'no-such-host.invalid'], { DAEMON_TOKEN: TOKEN });
    expect(await running.exited).toBe(2);
    expect(running.stderr.join('')).toMatch(/\(from --host\)/);
  });

  it('exits 2 for a token with a newline or a space, without printing it', async () => {
    running = spawnDaemon(['run', '--port', '0'], { DAEMON_TOKEN: `${TOKEN}\n` });
    expect(await running.exited).toBe(2);
    const stderr = running.stderr.join('');
    expect(stderr).toMatch(/auth\.token: .*\(from DAEMON_TOKEN\)/);
    expect(stderr).not.toContain(TOKEN);
    running = spawnDaemon(['run', '--port', '0', '--token', `${TOKEN} x`], { DAEMON_TOKEN: '' });
    expect(await running.exited).toBe(2);
    expect(running.stderr.join('')).toMatch(/auth\.token: .*\(from --token\)/);
  });
});
