import { corrupt, unsupported } from './errors.js';
import { unpickle } from './pickle.js';
import { torchUnpickleHooks } from './torch-globals.js';
import { notTorchZip, readZipDirectory, readZipEntry } from './zip-reader.js';
import type { ZipEntry } from './zip-reader.js';

/**
 * The zip format of `torch.save` (torch >= 1.6): `<name>/data.pkl` holds the object pickle whose
 * persistent ids name storages stored raw as `<name>/data/<key>`; `<name>/byteorder` exists
 * since torch 2.1. `<name>` is the file stem at save time (or `archive`).
 */

export interface ZipCheckpoint {
  readonly archiveName: string;
  readonly value: unknown;
}

const utf8 = new TextDecoder('utf-8');

export function readZipCheckpoint(bytes: Uint8Array, source: string): ZipCheckpoint {
  const entries = readZipDirectory(bytes, source);
  const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length === 0) throw notTorchZip(source, 'no <name>/data.pkl entry');
  if (pickles.length > 1) throw notTorchZip(source, `several data.pkl entries (${pickles.join(', ')})`);
  const pklName = pickles[0] ?? '';
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const get = (name: string): ZipEntry | undefined => entries.get(prefix + name);

  const byteorder = get('byteorder');
  if (byteorder !== undefined) {
    const order = utf8.decode(readZipEntry(bytes, byteorder, source)).trim();
    if (order !== 'little') throw unsupported(source, `checkpoint byteorder is '${order}'; only little-endian is supported`);
  }
  const state = torchUnpickleHooks(source, (ref) => {
    const entry = get(`data/${ref.key}`);
    if (entry === undefined) throw corrupt(source, `storage ${prefix}data/${ref.key} is missing from the archive`);
    const data = readZipEntry(bytes, entry, source);
    if (data.length < ref.numel * ref.type.itemSize) {
      throw corrupt(source, `storage ${ref.key} has ${data.length} bytes, ${ref.numel} ${ref.type.name} elements declared`);
    }
    ref.bytes = data;
  });
  const pkl = get('data.pkl');
  if (pkl === undefined) throw notTorchZip(source, 'no data.pkl');
  const { value } = unpickle(readZipEntry(bytes, pkl, source), 0, state.hooks, source);
  return { archiveName: prefix.slice(0, -1), value };
}
