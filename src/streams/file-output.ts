import { closeSync, openSync, writeSync } from 'node:fs';
import { AVSEEK_CUR, AVSEEK_END, AVSEEK_SET, AVSEEK_SIZE, type AVSeekWhence } from 'node-av/constants';
import type { IOOutputCallbacks } from 'node-av/api';

/**
 * A seekable output file for node-av's Muxer whose descriptor this module owns. node-av 6.1.1's
 * Muxer.open(path) never closes the file it opens (one descriptor leaked per output, measured with
 * /proc/self/fd); with these callbacks the muxer only writes and seeks, and `close()` closes.
 */
export class FileOutput {
  private fd: number | undefined;
  private pos = 0;
  private size = 0;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w', 0o644);
  }

  get callbacks(): IOOutputCallbacks {
    return {
      write: (buf: Buffer) => {
        if (this.fd === undefined) return -1;
        let done = 0;
        while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done, this.pos + done);
        this.pos += done;
        this.size = Math.max(this.size, this.pos);
        return done;
      },
      seek: (offset: bigint, whence: AVSeekWhence) => {
        if (whence === AVSEEK_SIZE) return this.size;
        const next = seekTo(this.pos, this.size, offset, whence);
        if (next >= 0) this.pos = next;
        return next;
      },
    };
  }

  /** Idempotent. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The muxer for an output file name. */
/**
 * Where a custom-IO seek lands (FFmpeg's SET, CUR, END on a file of `size` bytes written so far),
 * or -1 for a whence it does not ask of these outputs. AVSEEK_SIZE is answered by the caller.
 */
export function seekTo(pos: number, size: number, offset: bigint, whence: AVSeekWhence): number {
  const o = Number(offset);
  if (whence === AVSEEK_SET) return o;
  if (whence === AVSEEK_CUR) return pos + o;
  if (whence === AVSEEK_END) return size + o;
  return -1;
}

export function containerOf(file: string): 'mp4' | 'matroska' | 'mov' {
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  if (ext === 'mkv') return 'matroska';
  if (ext === 'mov') return 'mov';
  return 'mp4';
}
