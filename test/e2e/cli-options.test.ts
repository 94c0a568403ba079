// Flag values with a fixed set of choices are refused by commander itself, before anything starts:
// the same `error: option '…' argument '…' is invalid.` line, the help hint, exit 2, nothing on
// stdout — whichever command the flag belongs to.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';

let spawned: SpawnedDaemon[] = [];
afterEach(() => {
  for (const d of spawned) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  spawned = [];
});

interface Refusal {
  readonly code: number | string;
  readonly stderr: string;
  readonly stdout: string[];
}

/**
 * Runs the CLIs four at a time (they are independent; the machine is small). A CLI still running
 * after `graceMs` did not refuse its flag (it started the command): it is killed and reported
 * with code 'running'.
 */
async function refuseAll(runs: readonly (readonly string[])[], graceMs = 60_000): Promise<Refusal[]> {
  const one = async (args: readonly string[]): Promise<Refusal> => {
    const d = spawnDaemon(args, { DAEMON_TOKEN: '' });
    spawned.push(d);
    // 'close' comes after the last stdout/stderr chunk ('exit' may come before it).
    const closed = new Promise((r) => d.child.once('close', r));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      d.child.kill('SIGKILL');
    }, graceMs);
    const code = await d.exited;
    await closed;
    clearTimeout(timer);
    return { code: killed ? 'running' : code, stderr: d.stderr.join(''), stdout: d.stdout };
  };
  const out: Refusal[] = [];
  for (let i = 0; i < runs.length; i += 4) out.push(...(await Promise.all(runs.slice(i, i + 4).map(one))));
  return out;
}

/** What a refusal should look like, side by side with what each CLI did (one table: every case shows). */
function table(results: readonly Refusal[], cases: readonly (readonly [readonly string[], ...string[]])[], expected: (i: number) => readonly string[]): { actual: unknown[]; wanted: unknown[] } {
  const actual = results.map((r, i) => {
    const want = expected(i);
    return { argv: cases[i]![0].join(' '), code: r.code, says: want.map((w) => (r.stderr.includes(w) ? w : `(missing) ${r.stderr.trim().split('\n')[0] ?? ''}`)), stdout: r.stdout };
  });
  const wanted = results.map((_, i) => ({ argv: cases[i]![0].join(' '), code: 2, says: expected(i), stdout: [] }));
  return { actual, wanted };
}

/** The command's help follows the error (showHelpAfterError), on every command. */
const usage = (argv: readonly string[]): string => {
  const firstFlag = argv.findIndex((a) => a.startsWith('-'));
  return `Usage: daemon ${(firstFlag < 0 ? argv : argv.slice(0, firstFlag)).join(' ')} [options]`;
};

const BACKENDS = 'auto, tensorflow-gpu, tensorflow, wasm, cpu';

describe('flag values are validated by commander, the same way for every command', () => {
  it('every command taking --backend refuses an unknown backend with the same message and exit 2', async () => {
    // [argv, the flag as commander prints it, the allowed values named in the message]
    const cases: readonly (readonly [readonly string[], string, string])[] = [
      [['run'], '--backend <name>', BACKENDS],
      [['predict', '--model', 'm', '--input', 'i'], '--backend <name>', BACKENDS],
      [['align', '--input', 'i', '--out', 'o'], '--backend <name>', BACKENDS],
      [['train', '--config', 'c.yaml'], '--backend <name>', BACKENDS],
      [['bench', 'faces'], '--backend <name>', BACKENDS],
      [['bench', 'soak', '--minutes', '1'], '--backend <name>', BACKENDS],
      [['bench', 'churn', '--minutes', '1'], '--backend <name>', BACKENDS],
      [['bench', 'pipeline', '--seconds', '1'], '--backend <name>', BACKENDS],
      [['bench', 'expressions', '--input', 'demo:'], '--backend <name>', BACKENDS],
      [['bench', 'model', '--seconds', '1'], '--backend <list>', 'auto, all, tensorflow-gpu, tensorflow, wasm, cpu'],
      [['bench', 'train', '--seconds', '1'], '--backend <list>', 'onnx, auto, tensorflow-gpu, tensorflow, wasm, cpu'],
    ];
    const results = await refuseAll(cases.map(([argv]) => [...argv, '--backend', 'nope']));
    const { actual, wanted } = table(results, cases, (i) => [`error: option '${cases[i]![1]}' argument 'nope' is invalid.`, cases[i]![2], usage(cases[i]![0])]);
    expect(actual).toEqual(wanted);
  }, 400_000);

  it('every other flag with a fixed set of values is refused the same way (no hand checks in the actions)', async () => {
    // [argv, the flag as commander prints it, the bad value]
    const cases: readonly (readonly [readonly string[], string, string])[] = [
      [['run', '--engine', 'gpu'], '--engine <name>', 'gpu'],
      [['predict', '--model', 'm', '--input', 'i', '--engine', 'gpu'], '--engine <name>', 'gpu'],
      [['train', '--config', 'c.yaml', '--engine', 'onnx-int8'], '--engine <name>', 'onnx-int8'],
      [['bench', 'pipeline', '--engine', 'gpu'], '--engine <name>', 'gpu'],
      [['bench', 'faces', '--engine', 'tfjs,gpu'], '--engine <list>', 'tfjs,gpu'],
      [['bench', 'model', '--seconds', '1', '--engine', 'tfjs,gpu'], '--engine <list>', 'tfjs,gpu'],
      [['bench', 'pipeline', '--seconds', '1', '--arch', 'compact,vgg'], '--arch <list>', 'compact,vgg'],
      [['bench', 'pipeline', '--seconds', '1', '--streams', '1,four'], '--streams <list>', '1,four'],
      [['bench', 'pipeline', '--seconds', '1', '--analysis-fps', 'all,fast'], '--analysis-fps <list>', 'all,fast'],
      [['bench', 'sink', '--events', '10', '--kinds', 'mqtt,kafka'], '--kinds <list>', 'mqtt,kafka'],
      [['bench', 'sink', '--events', '10', '--in-flight', '1,0'], '--in-flight <list>', '1,0'],
      [['align', '--input', 'i', '--out', 'o', '--quality', '101'], '--quality <n>', '101'],
      [['models', 'add', '--name', 'x', '--kind', 'rnn', 'a.pth'], '--kind <kind>', 'rnn'],
      [['models', 'add', '--name', 'x', '--kind', 'cnn-rnn', '--seq-len', '1', 'a.pth'], '--seq-len <n>', '1'],
      [['models', 'add', '--name', 'x', '--kind', 'cnn', '--roles', 'teacher,boss', 'a.pth'], '--roles <list>', 'teacher,boss'],
      [['import-seed', '--kind', 'cnn', '--out', 'o', '--roles', 'boss', 'a.pth'], '--roles <list>', 'boss'],
      [['predict', '--model', 'm', '--input', 'i', '--threads', '-1'], '--threads <n>', '-1'],
      [['predict', '--model', 'm', '--input', 'i', '--workers', '0'], '--workers <n>', '0'],
    ];
    const results = await refuseAll(cases.map(([argv]) => argv));
    const { actual, wanted } = table(results, cases, (i) => [`error: option '${cases[i]![1]}' argument '${cases[i]![2]}' is invalid.`, usage(cases[i]![0])]);
    expect(actual).toEqual(wanted);
  }, 400_000);
});
