import { badFormat, corrupt, unsupported } from './errors.js';
import { PyDict, unpickle } from './pickle.js';
import { torchUnpickleHooks } from './torch-globals.js';
import type { StorageRef } from './torch-globals.js';

/**
 * The pre-1.6 `torch.save` stream (still written with `_use_new_zipfile_serialization=False`):
 * pickle(magic) pickle(protocol) pickle(sys_info) pickle(object) pickle(storage keys), then for
 * each key an int64 element count and the raw little-endian elements.
 */

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

export function isLegacyPickle(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x80 && (bytes[1] ?? 0) >= 2;
}

export function readLegacyCheckpoint(bytes: Uint8Array, source: string): unknown {
  // The three header pickles hold only plain values.
  const plain = {
    findClass: (module: string, name: string): never => {
      throw corrupt(source, `legacy header pickle refers to ${module}.${name}`);
    },
    persistentLoad: (): never => {
      throw corrupt(source, 'legacy header pickle has a persistent id');
    },
  };
  const header = (start: number): { value: unknown; end: number } => unpickle(bytes, start, plain, source);
  let magic: { value: unknown; end: number };
  try {
    magic = header(0);
  } catch (err) {
    throw badFormat(source, 'not a PyTorch checkpoint: a pickle stream without the torch.save header', err);
  }
  if (magic.value !== MAGIC) throw badFormat(source, 'pickle stream without the torch.save magic number: not a PyTorch checkpoint');
  const proto = header(magic.end);
  if (proto.value !== PROTOCOL_VERSION) throw unsupported(source, `legacy torch.save protocol ${String(proto.value)} (expected ${PROTOCOL_VERSION})`);
  const sysInfo = header(proto.end);
  if (sysInfo.value instanceof PyDict && sysInfo.value.entries.get('little_endian') === false) {
    throw unsupported(source, 'checkpoint was written on a big-endian machine');
  }

  const views: { root: StorageRef; view: StorageRef; offset: number }[] = [];
  const state = torchUnpickleHooks(source, () => {}, (root, view, offset) => views.push({ root, view, offset }));
  const obj = unpickle(bytes, sysInfo.end, state.hooks, source);
  const keys = unpickle(bytes, obj.end, state.hooks, source);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw corrupt(source, 'legacy storage key list is malformed');
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = keys.end;
  for (const key of keys.value as string[]) {
    const ref = state.storages.get(key);
    // An unreferenced storage has no known element size, so the rest of the stream cannot be located.
    if (ref === undefined) throw corrupt(source, `legacy storage ${key} is listed but never referenced`);
    if (at + 8 > bytes.length) throw corrupt(source, `file truncated before storage ${key}`);
    const count = view.getBigInt64(at, true);
    at += 8;
    const nbytes = Number(count) * ref.type.itemSize;
    if (count < 0n || !Number.isSafeInteger(nbytes) || at + nbytes > bytes.length) {
      throw corrupt(source, `file truncated inside storage ${key} (${count} elements of ${ref.type.itemSize} bytes declared)`);
    }
    ref.bytes = bytes.subarray(at, at + nbytes);
    at += nbytes;
  }
  for (const { root, view: v, offset } of views) {
    if (root.bytes === undefined) continue;
    const start = offset * root.type.itemSize;
    const end = start + v.numel * root.type.itemSize;
    if (end > root.bytes.length) throw corrupt(source, `storage view ${v.key} overruns storage ${root.key}`);
    v.bytes = root.bytes.subarray(start, end);
  }
  for (const ref of state.storages.values()) {
    if (ref.bytes === undefined) throw corrupt(source, `storage ${ref.key} is referenced but its data is missing`);
  }
  return obj.value;
}
