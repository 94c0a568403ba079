import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/**
 * Where a recording's bytes go: the seam a test replaces to make writes fail (a full disk). One
 * owner: the recorder that opened it closes it.
 */
export interface RecordingFile {
  /** Writes all of `buf` at `position`; throws the system error (ENOSPC, EFBIG, EIO …) if it cannot. */
  write(buf: Buffer, position: number): void;
  /** Cuts the file to `size` bytes. */
  truncate(size: number): void;
  /** Idempotent. */
  close(): void;
}

export type RecordingFileOpener = (file: string) => RecordingFile;

/**
 * The real file: created exclusively (never over an existing file or through a symlink planted at
 * its name) and 0600, like the state file: a recording shows faces.
 */
export const openRecordingFile: RecordingFileOpener = (file) => {
  let fd: number | undefined = openSync(file, 'wx', 0o600);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new Error(`${file} is not a regular file`);
  }
  return {
    write(buf, position) {
      if (fd === undefined) throw new Error('recording file is closed');
      let done = 0;
      while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done);
    },
    truncate(size) {
      if (fd !== undefined) ftruncateSync(fd, size);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
};
