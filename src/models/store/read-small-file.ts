import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AnalyticsError, ErrorCodes } from '../../core/errors.js';

/**
 * Reads a small file of the store or a catalogue: opened without blocking (a FIFO would hang a
 * plain read) and without following a final link, accepted only as a regular file within `maxBytes`
 * (checked by fstat before any byte is read).
 */
export async function readRegularFile(file: string, maxBytes: number, what: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'not found' : e.code === 'ELOOP' ? 'a symbolic link (not followed)' : e.message;
    throw new AnalyticsError(e.code === 'ENOENT' ? ErrorCodes.SOURCE_NOT_FOUND : ErrorCodes.CONFIG, `${file}: ${what} ${why}`, { cause: err });
  }
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new AnalyticsError(ErrorCodes.CONFIG, `${file}: ${what} is not a regular file`);
    if (s.size > maxBytes) throw new AnalyticsError(ErrorCodes.CONFIG, `${file}: ${what} is ${s.size} bytes, more than the ${maxBytes} allowed`);
    // Read at most one byte past what fstat said, so a file that grows meanwhile cannot balloon.
    const buf = Buffer.alloc(s.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > s.size) throw new AnalyticsError(ErrorCodes.CONFIG, `${file}: ${what} grew while it was read`);
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}
