import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './media.js';

export interface SpawnedDaemon {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  port(): Promise<number>;
}

/** Spawns `bin/daemon.js` (the built CLI) exactly as a user would. */
export function spawnDaemon(args: readonly string[], env: NodeJS.ProcessEnv = {}): SpawnedDaemon {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'daemon.js'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let outBuf = '';
  child.stdout.on('data', (b: Buffer) => {
    outBuf += b.toString('utf8');
    const lines = outBuf.split('\n');
    outBuf = lines.pop() ?? '';
    stdout.push(...lines);
  });
  child.stderr.on('data', (b: Buffer) => stderr.push(b.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    stdout,
    stderr,
    exited,
    async port() {
      const deadline = Date.now() + 60_000;
      for (;;) {
        for (const line of stdout) {
          if (line.includes('"msg":"listening"')) return (JSON.parse(line) as { port: number }).port;
        }
        if (child.exitCode !== null) throw new Error(`daemon exited early (${child.exitCode}): ${stderr.join('')}${stdout.join('\n')}`);
        if (Date.now() > deadline) throw new Error('daemon did not start listening');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
