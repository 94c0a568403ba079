import type { StateDict, TorchTensor } from './types.js';
import { CheckpointError, badFormat, corrupt } from './errors.js';
import { isLegacyPickle, readLegacyCheckpoint } from './legacy-reader.js';
import { materialize } from './materialize.js';
import { PyDict, describe } from './pickle.js';
import { TensorRef } from './torch-globals.js';
import { readZipCheckpoint } from './zip-checkpoint.js';
import { isZip } from './zip-reader.js';

export interface ReadCheckpointOptions {
  /** Names the bytes in error messages (usually the file path). */
  readonly source?: string;
}

export interface CheckpointInfo {
  readonly format: 'zip' | 'legacy';
  /** Zip format only: the archive's top-level folder (the file stem at save time). */
  readonly archiveName?: string;
  /** Set when the state_dict was found under this key of a larger checkpoint dict. */
  readonly nestedUnder?: 'state_dict';
  /** Set when every key carried this prefix (DataParallel's `module.`) and it was removed. */
  readonly strippedPrefix?: 'module.';
  /** Other top-level keys of a nested checkpoint that were ignored (e.g. `epoch`, `optimizer`). */
  readonly ignoredKeys: readonly string[];
}

export interface CheckpointReadResult {
  readonly stateDict: StateDict;
  readonly info: CheckpointInfo;
}

const DATA_PARALLEL_PREFIX = 'module.';

/**
 * Reads a PyTorch `state_dict` saved by `torch.save`, in either the zip or the legacy
 * serialisation, without executing any pickle code. Tensors come back contiguous, in the
 * file's key order. Every failure is a `CheckpointError` with a stable `code`.
 */
export function readTorchCheckpoint(bytes: Uint8Array, opts: ReadCheckpointOptions = {}): StateDict {
  return readTorchCheckpointWithInfo(bytes, opts).stateDict;
}

export function readTorchCheckpointWithInfo(bytes: Uint8Array, opts: ReadCheckpointOptions = {}): CheckpointReadResult {
  const source = opts.source ?? '<checkpoint bytes>';
  try {
    return read(bytes, source);
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    // Bounds are checked explicitly; this is the backstop that keeps the error typed.
    throw corrupt(source, `unreadable checkpoint (${err instanceof Error ? err.message : String(err)})`, err);
  }
}

function read(bytes: Uint8Array, source: string): CheckpointReadResult {
  let top: unknown;
  let format: CheckpointInfo['format'];
  let archiveName: string | undefined;
  if (isZip(bytes)) {
    const zip = readZipCheckpoint(bytes, source);
    top = zip.value;
    archiveName = zip.archiveName;
    format = 'zip';
  } else if (isLegacyPickle(bytes)) {
    top = readLegacyCheckpoint(bytes, source);
    format = 'legacy';
  } else {
    throw badFormat(source, bytes.length === 0 ? 'file is empty' : 'not a PyTorch checkpoint (neither a zip archive nor a pickle stream)');
  }
  if (!(top instanceof PyDict)) throw badFormat(source, `checkpoint holds ${describe(top)}, not a state_dict`);

  let dict = top;
  let nestedUnder: 'state_dict' | undefined;
  const ignoredKeys: string[] = [];
  const nested = top.entries.get('state_dict');
  if (nested instanceof PyDict) {
    dict = nested;
    nestedUnder = 'state_dict';
    for (const k of top.entries.keys()) if (k !== 'state_dict') ignoredKeys.push(String(k));
  }

  const refs: [string, TensorRef][] = [];
  for (const [key, value] of dict.entries) {
    if (typeof key !== 'string') throw badFormat(source, `state_dict key ${describe(key)} is not a string`);
    if (!(value instanceof TensorRef)) throw badFormat(source, `state_dict entry '${key}' is ${describe(value)}, not a tensor`);
    refs.push([key, value]);
  }
  if (refs.length === 0) throw badFormat(source, 'state_dict is empty');

  const strip = refs.every(([k]) => k.startsWith(DATA_PARALLEL_PREFIX));
  const stateDict = new Map<string, TorchTensor>();
  for (const [key, ref] of refs) {
    const name = strip ? key.slice(DATA_PARALLEL_PREFIX.length) : key;
    if (stateDict.has(name)) throw corrupt(source, `duplicate state_dict key '${name}'`);
    stateDict.set(name, materialize(ref, key, source));
  }

  const info: CheckpointInfo = {
    format,
    ignoredKeys,
    ...(archiveName !== undefined ? { archiveName } : {}),
    ...(nestedUnder !== undefined ? { nestedUnder } : {}),
    ...(strip ? { strippedPrefix: DATA_PARALLEL_PREFIX } : {}),
  };
  return { stateDict, info };
}
