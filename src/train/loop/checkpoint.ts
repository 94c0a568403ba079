/**
 * Training checkpoints: one file, `[u32 header length][header JSON][float32 data…]`, written to a
 * temporary name, fsynced and renamed, so a kill at any moment leaves either the previous or the
 * new checkpoint, never a torn one.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { TrainError } from '../errors.js';

export interface CheckpointFile<M> {
  readonly meta: M;
  readonly tensors: ReadonlyMap<string, Float32Array>;
}

const MAGIC = 'va-train-ckpt-1';

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

export async function readCheckpoint<M>(file: string): Promise<CheckpointFile<M> | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TrainError(`${file}: cannot read checkpoint`, { file }, { cause: err });
  }
  try {
    const hl = buf.readUInt32LE(0);
    const header = JSON.parse(buf.subarray(4, 4 + hl).toString('utf8')) as { magic: string; meta: M; index: { key: string; length: number }[] };
    if (header.magic !== MAGIC) throw new Error('not a training checkpoint');
    let off = 4 + hl;
    const tensors = new Map<string, Float32Array>();
    for (const { key, length } of header.index) {
      if (off + length * 4 > buf.length) throw new Error('truncated');
      const copy = new Float32Array(length);
      new Uint8Array(copy.buffer).set(buf.subarray(off, off + length * 4));
      tensors.set(key, copy);
      off += length * 4;
    }
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
