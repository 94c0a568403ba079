/**
 * Reading a file that someone else may have put in place (a model directory, a cache, a record):
 * opened without blocking (a FIFO opened the plain way parks a pool thread in open() until a
 * writer appears — for good, and the process cannot exit past it), accepted only as a regular file
 * whose fstat size is within a bound (checked before a byte is read), and read only from that
 * descriptor, so what was checked is what is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Hash } from 'node:crypto';
import { AnalyticsError, ErrorCodes, type ErrorCode } from './errors.js';

export type FileRefusalReason = 'missing' | 'link' | 'not-regular' | 'too-large' | 'wrong-size' | 'changed' | 'unreadable';

export interface FileLimits {
  /** Largest size accepted, in bytes. */
  readonly maxBytes: number;
  /** When set, the only size accepted (a weight file the manifest describes exactly). */
  readonly exactBytes?: number;
  /** What declared `exactBytes`, for the message ("the manifest"). */
  readonly declaredBy?: string;
  /** Follow a final symbolic link (default false: a link is refused with ELOOP). */
  readonly followLinks?: boolean;
  /** The code of the error thrown (default VA_ERR_CONFIG). */
  readonly code?: ErrorCode;
}

/** A refused or unreadable file: `reason` says which, the message names the path and what it is. */
export class FileRefusedError extends AnalyticsError {
  constructor(
    code: ErrorCode,
    readonly file: string,
    readonly reason: FileRefusalReason,
    /** What is wrong, without the path ("is a FIFO, not a regular file"). */
    readonly what: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, `${file} ${what}`, { ...options, context: { file, reason } });
  }
}

/** What a non-regular file is, for a message: "a FIFO", "a directory". */
export function describeFileType(s: Stats): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isDirectory()) return 'a directory';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'not a plain file';
}

function flags(limits: FileLimits): number {
  return constants.O_RDONLY | constants.O_NONBLOCK | (limits.followLinks === true ? 0 : constants.O_NOFOLLOW);
}

function openFailure(file: string, limits: FileLimits, err: unknown): FileRefusedError {
  const e = err as NodeJS.ErrnoException;
  const code = limits.code ?? ErrorCodes.CONFIG;
  if (e.code === 'ENOENT') return new FileRefusedError(code, file, 'missing', 'does not exist', { cause: err });
  // O_NOFOLLOW on a final link fails with ELOOP.
  if (e.code === 'ELOOP' && limits.followLinks !== true) return new FileRefusedError(code, file, 'link', 'is a symbolic link (not followed)', { cause: err });
  // A FIFO without a writer opens fine with O_NONBLOCK; a device may refuse the open instead.
  if (e.code === 'ENXIO' || e.code === 'ENODEV') return new FileRefusedError(code, file, 'not-regular', 'is a device or socket, not a regular file', { cause: err });
  return new FileRefusedError(code, file, 'unreadable', `cannot be opened (${e.code ?? e.message})`, { cause: err });
}

/** The refusal for what fstat said, or undefined when the file is acceptable. */
function checkStats(file: string, s: Stats, limits: FileLimits): FileRefusedError | undefined {
  const code = limits.code ?? ErrorCodes.CONFIG;
  if (!s.isFile()) return new FileRefusedError(code, file, 'not-regular', `is ${describeFileType(s)}, not a regular file`);
  if (limits.exactBytes !== undefined && s.size !== limits.exactBytes) {
    return new FileRefusedError(code, file, 'wrong-size', `is ${s.size} bytes, ${limits.declaredBy ?? 'the description'} declares ${limits.exactBytes}`);
  }
  if (s.size > limits.maxBytes) return new FileRefusedError(code, file, 'too-large', `is ${s.size} bytes, more than the ${limits.maxBytes} allowed`);
  return undefined;
}

function changed(file: string, limits: FileLimits, size: number): FileRefusedError {
  return new FileRefusedError(limits.code ?? ErrorCodes.CONFIG, file, 'changed', `changed size while it was read (fstat said ${size} bytes)`);
}

/** An opened, checked file: its size is known before anything is read. The caller closes it. */
export class RegularFile {
  private constructor(
    readonly file: string,
    readonly size: number,
    private readonly handle: FileHandle,
    private readonly limits: FileLimits,
  ) {}

  /** Opens and checks `file`; throws FileRefusedError for anything not acceptable. */
  static async open(file: string, limits: FileLimits): Promise<RegularFile> {
    let handle: FileHandle;
    try {
      handle = await open(file, flags(limits));
    } catch (err) {
      throw openFailure(file, limits, err);
    }
    try {
      const s = await handle.stat();
      const refusal = checkStats(file, s, limits);
      if (refusal !== undefined) throw refusal;
      return new RegularFile(file, s.size, handle, limits);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Exactly `size` bytes; a file that shrank or grew since fstat is an error. */
  async read(): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(this.size);
    let n = 0;
    while (n < this.size) {
      const { bytesRead } = await this.handle.read(buf, n, this.size - n, n);
      if (bytesRead === 0) throw changed(this.file, this.limits, this.size);
      n += bytesRead;
    }
    const { bytesRead } = await this.handle.read(Buffer.alloc(1), 0, 1, this.size);
    if (bytesRead !== 0) throw changed(this.file, this.limits, this.size);
    return buf;
  }

  /** Feeds the file to `hash` in chunks (a large file is never held whole). */
  async hashInto(hash: Hash, chunkBytes = 1 << 20): Promise<void> {
    const buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(1, this.size)));
    let n = 0;
    while (n < this.size) {
      const { bytesRead } = await this.handle.read(buf, 0, Math.min(buf.length, this.size - n), n);
      if (bytesRead === 0) throw changed(this.file, this.limits, this.size);
      hash.update(buf.subarray(0, bytesRead));
      n += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** The whole of `file`, once it is known to be a regular file within `limits`. */
export async function readRegularFile(file: string, limits: FileLimits): Promise<Buffer> {
  const f = await RegularFile.open(file, limits);
  try {
    return await f.read();
  } finally {
    await f.close();
  }
}

/** `readRegularFile` as UTF-8 text. */
export async function readRegularText(file: string, limits: FileLimits): Promise<string> {
  return (await readRegularFile(file, limits)).toString('utf8');
}

/** Hashes `file` in chunks, once it is known to be a regular file within `limits`. */
export async function hashRegularFile(file: string, hash: Hash, limits: FileLimits): Promise<void> {
  const f = await RegularFile.open(file, limits);
  try {
    await f.hashInto(hash);
  } finally {
    await f.close();
  }
}

/** The synchronous form, for callers that are synchronous throughout (package files at load). */
export function readRegularFileSync(file: string, limits: FileLimits): Buffer {
  let fd: number;
  try {
    fd = openSync(file, flags(limits));
  } catch (err) {
    throw openFailure(file, limits, err);
  }
  try {
    const s = fstatSync(fd);
    const refusal = checkStats(file, s, limits);
    if (refusal !== undefined) throw refusal;
    const buf = Buffer.allocUnsafe(s.size);
    let n = 0;
    while (n < s.size) {
      const got = readSync(fd, buf, n, s.size - n, n);
      if (got === 0) throw changed(file, limits, s.size);
      n += got;
    }
    if (readSync(fd, Buffer.alloc(1), 0, 1, s.size) !== 0) throw changed(file, limits, s.size);
    return buf;
  } finally {
    closeSync(fd);
  }
}
