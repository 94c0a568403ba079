/**
 * The flags several commands share, declared once so that each is parsed and refused the same
 * way everywhere: commander checks every value (choices, numbers, lists) while parsing, so a bad
 * one ends the command with its `error: option … is invalid.` line, the command's help and exit 2
 * before the action runs. Actions receive values that are already what their types say.
 *
 * Light on purpose (commander only, types from elsewhere): every command file imports it, and
 * `daemon --help` must not load an engine.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { BackendPreference } from '../models/backend.js';
import type { EnginePreference } from '../models/ensemble/member-runner.js';
import type { DevicePreference } from '../models/placement/placement.js';

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const satisfies readonly BackendPreference[];
/** Where models run (`model.device`, `detector.device`). */
export const DEVICES = ['auto', 'cpu', 'gpu'] as const satisfies readonly DevicePreference[];
/** Inference engines of an affect model (`model.engine`). */
export const ENGINES = ['auto', 'onnx', 'tfjs', 'onnx-int8'] as const satisfies readonly EnginePreference[];

// ---- value parsers (commander argParsers: throw InvalidArgumentError, commander reports it) ----

/** A repeatable flag: each occurrence appends. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535');
  return n;
};

export const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number');
  return n;
};

export const positiveInt =
  (flag: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer`);
    return n;
  };

export const nonNegativeInt =
  (flag: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be an integer ≥ 0`);
    return n;
  };

export const intFromTo =
  (flag: string, min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max}`);
    return n;
  };

const items = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** A comma-separated list, each item parsed by `item` (which throws InvalidArgumentError). */
export const listOf =
  <T>(item: (value: string) => T) =>
  (value: string): T[] => {
    const out = items(value).map(item);
    if (out.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
    return out;
  };

/** A comma-separated list of names out of `choices`; `what` names one item in the message. */
export const choiceList = <const C extends string>(what: string, choices: readonly C[]): ((value: string) => C[]) =>
  listOf((v: string): C => {
    if (!(choices as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown ${what} ${JSON.stringify(v)} (${choices.join(', ')})`);
    return v as C;
  });

/**
 * A flag's default given as the text a user would type: the value is what parsing that text
 * gives (so it passes the same checks), and the help shows the text, quoted as commander shows a
 * string default.
 */
export function typedDefault(option: Option, typed: string): Option {
  const parse = option.parseArg;
  if (parse === undefined) return option.default(typed);
  return option.default(parse(typed, undefined), JSON.stringify(typed));
}

// ---- shared flags ----

/** `--backend <name>`: the TF.js backend. Commands that let the config decide leave the default unset. */
export const backendOption = (description = 'TF.js backend'): Option => new Option('--backend <name>', description).choices(BACKENDS);

/** `--engine <name>`: who runs the model; `choices` narrows the set for commands that take fewer. */
export const engineOption = (description: string, choices: readonly string[] = ENGINES): Option => new Option('--engine <name>', description).choices(choices);

/** `--device <name>`: where the models run (auto: a usable GPU, else the CPU; gpu: a GPU or an error). */
export const deviceOption = (description = 'where the models run: auto (a usable GPU, else the CPU), cpu, gpu (fails when no GPU can be used)'): Option =>
  new Option('--device <name>', description).choices(DEVICES);

/**
 * `--threads <n>`: intra-op threads per ONNX Runtime session. With a default of 0 ("one per
 * core"), 0..256; with a default of 1 (a fixed count), a positive integer.
 */
export const threadsOption = (description: string, fallback: 0 | 1): Option =>
  new Option('--threads <n>', description).argParser(fallback === 0 ? intFromTo('--threads', 0, 256) : positiveInt('--threads')).default(fallback);

/** `--workers <n>`: model worker threads (1: on the main thread). */
export const workersOption = (description: string): Option => new Option('--workers <n>', description).argParser(positiveInt('--workers'));

/** `--store <dir>`: the model store a name resolves in. */
export const storeOption = (description = 'model store (default $XDG_DATA_HOME/affect-daemon/models)'): Option => new Option('--store <dir>', description);

/** `-c, --config <file>`: a daemon (or training) config file. */
export const configOption = (description: string): Option => new Option('-c, --config <file>', description);

/** `--json`: a bench prints JSON only. */
export const jsonOption = (): Option => new Option('--json', 'print JSON only');
