// The Python example of docs/api.md (docs/examples/subscribe_events.py, with Debian's
// python3-websockets, which .ci/run installs) against a running daemon: it prints the events it
// receives, and a wrong token makes it fail with the daemon's 401. docs/api.md shows the file as it is.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir, repoRoot } from '../helpers/media.js';

const TOKEN = 'python-example-token-0123456789';
const script = path.join(repoRoot, 'docs', 'examples', 'subscribe_events.py');
// Debian's interpreter is the one python3-websockets installs into (a pyenv python3 may come first on PATH).
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
let d: RunningDaemon;

function run(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(python, [script, ...args], { env: { ...process.env, DAEMON_TOKEN: token }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  const probe = execFileSync(python, ['-c', 'import websockets; print(websockets.__version__)'], { encoding: 'utf8' }).trim();
  expect(probe, 'python3-websockets (apt-get install python3-websockets, as .ci/run does)').toMatch(/^\d+\./);
  d = await startDaemon({ auth: { token: TOKEN }, files: { roots: [mediaDir] }, streams: [{ id: 'cam', url: media('single_face.mp4'), realtime: true, loop: true }] });
});
afterAll(() => d?.close());

describe('the Python example (docs/examples/subscribe_events.py)', () => {
  it('is shown in docs/api.md as it is in the file', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs', 'api.md'), 'utf8');
    expect(doc).toContain('```python\n' + readFileSync(script, 'utf8') + '```');
  });

  it('prints the events of a running daemon, one line each', async () => {
    const r = await run([`${d.ws}?types=faces,stream&streams=cam`, '5'], TOKEN);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l).toMatch(/^cam (faces|stream)$/);
  });

  it('fails with the daemon’s 401 for a wrong token', async () => {
    const r = await run([`${d.ws}?types=faces`, '1'], 'not-the-token-0123456789');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/401/);
  });
});
