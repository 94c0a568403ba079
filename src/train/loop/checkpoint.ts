/**
 * Training checkpoints: one file, `[u32 header length][header JSON][float32 data…]`, written to a
 * temporary name, fsynced and renamed, so a kill at any moment leaves either the previous or the
 * new checkpoint, never a torn one.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { ErrorCodes } from '../../core/errors.js';
import { FileRefusedError, readRegularFile } from '../../core/read-regular-file.js';
import { TrainError } from '../errors.js';

export interface CheckpointFile<M> {
  readonly meta: M;
  readonly tensors: ReadonlyMap<string, Float32Array>;
}

const MAGIC = 'va-train-ckpt-1';

/** The most any checkpoint may be: what readFile could ever read, so no checkpoint that resumed before is refused now. */
export const MAX_CHECKPOINT_BYTES = 2 ** 31 - 1;
/** Room for the header: the meta (≤ 1000 epochs of history) and the tensor index. */
const HEADER_MAX_BYTES = 16 * 1024 * 1024;

/** The largest checkpoint holding at most `floats` float32 values (and a header). */
export function checkpointBound(floats: number): number {
  return Math.min(MAX_CHECKPOINT_BYTES, 4 + HEADER_MAX_BYTES + 4 * floats);
}

export async function writeCheckpoint<M>(file: string, meta: M, tensors: ReadonlyMap<string, Float32Array>): Promise<void> {
  const index = [...tensors].map(([key, t]) => ({ key, length: t.length }));
  const header = Buffer.from(JSON.stringify({ magic: MAGIC, meta, index }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.write(len);
    await fh.write(header);
    for (const t of tensors.values()) await fh.write(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/**
 * The checkpoint at `file`, or undefined when there is none. The run directory is the user's: the
 * file is opened without blocking and read only as a regular file of at most `maxBytes` (a FIFO
 * would park a pool thread in open() for good, a huge file would be read whole).
 */
export async function readCheckpoint<M>(file: string, maxBytes = MAX_CHECKPOINT_BYTES): Promise<CheckpointFile<M> | undefined> {
  let buf: Buffer;
  try {
    buf = await readRegularFile(file, { maxBytes, followLinks: true, code: ErrorCodes.TRAIN });
  } catch (err) {
    if (err instanceof FileRefusedError && err.reason === 'missing') return undefined;
    if (err instanceof FileRefusedError) throw err;
    throw new TrainError(`${file}: cannot read checkpoint`, { file }, { cause: err });
  }
  try {
    const hl = buf.readUInt32LE(0);
    if (4 + hl > buf.length) throw new Error('truncated header');
    const header = JSON.parse(buf.subarray(4, 4 + hl).toString('utf8')) as { magic: string; meta: M; index: { key: string; length: number }[] };
    if (header.magic !== MAGIC) throw new Error('not a training checkpoint');
    let off = 4 + hl;
    const tensors = new Map<string, Float32Array>();
    for (const { key, length } of header.index) {
      if (!Number.isSafeInteger(length) || length < 0 || off + length * 4 > buf.length) throw new Error('truncated');
      const copy = new Float32Array(length);
      new Uint8Array(copy.buffer).set(buf.subarray(off, off + length * 4));
      tensors.set(key, copy);
      off += length * 4;
    }
    if (off !== buf.length) throw new Error(`${buf.length - off} bytes beyond the tensors its header lists`);
    return { meta: header.meta, tensors };
  } catch (err) {
    throw new TrainError(`${file}: corrupt checkpoint (${err instanceof Error ? err.message : String(err)})`, { file }, { cause: err });
  }
}

export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
