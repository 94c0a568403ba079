import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { constants, crc32, deflateRawSync } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/**
 * A valid, black, 8-bit grey PNG of width×height that is tiny on disk (16000×16000 ≈ 250 KB) and
 * 256 MB decoded: a decompression bomb. Written without ever holding the image: identical
 * sync-flushed deflate blocks of many all-zero rows are repeated (raw deflate blocks concatenate),
 * and the Adler-32 of all-zero data is known in closed form.
 */
export function writePngBomb(file: string, width: number, height: number): void {
  const rowBytes = width + 1; // filter byte + grey samples
  const rowsPerBlock = Math.max(1, Math.floor((16 << 20) / rowBytes));
  const blocks: Buffer[] = [];
  const full = deflateRawSync(Buffer.alloc(rowBytes * rowsPerBlock), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  let rows = height;
  while (rows > 0) {
    const n = Math.min(rows, rowsPerBlock);
    blocks.push(n === rowsPerBlock ? full : deflateRawSync(Buffer.alloc(rowBytes * n), { level: 9, finishFlush: constants.Z_SYNC_FLUSH }));
    rows -= n;
  }
  blocks.push(deflateRawSync(Buffer.alloc(0))); // the final (empty) block
  const total = rowBytes * height;
  // Adler-32 of zeros: a stays 1, b adds 1 per byte.
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((total % 65521) << 16) | 1) >>> 0);
  const idat = Buffer.concat([Buffer.from([0x78, 0xda]), ...blocks, adler]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, deflate, no filter set, no interlace
  writeFileSync(file, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]));
}

/** A copy of `src` with `bytes` pseudo-random bytes (seeded, so runs repeat) written at `at` (0–1 of the size). */
export function corruptCopy(src: string, dst: string, o: { bytes: number; at: number; seed?: number }): void {
  const data = readFileSync(src);
  let s = o.seed ?? 12345;
  const start = Math.floor(data.length * o.at);
  for (let i = 0; i < o.bytes && start + i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[start + i] = s >>> 24;
  }
  writeFileSync(dst, data);
}

/** Frames the ffmpeg command line decodes from a file (it skips what it cannot decode). */
export function ffmpegFrameCount(file: string): number {
  const r = spawnSync('ffmpeg', ['-v', 'quiet', '-stats_period', '1000', '-i', file, '-map', '0:v:0', '-f', 'framecrc', '-'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.stdout.split('\n').filter((l) => /^0,/.test(l)).length;
}

/**
 * An HLS playlist inside `root` whose segments lie outside it, referenced both as a `file:` URL
 * and as a `../` path: the directory-traversal attack on file roots.
 */
export function writeHlsEscape(root: string, outside: string, clip: string): { playlist: string; segment: string } {
  mkdirSync(root, { recursive: true });
  mkdirSync(outside, { recursive: true });
  const segment = path.join(outside, 'secret.ts');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', clip, '-t', '2', '-an', '-c', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'mpegts', segment]);
  if (r.status !== 0) throw new Error(`ffmpeg could not write the segment: ${r.stderr.toString()}`);
  const rel = path.relative(root, segment);
  const playlist = path.join(root, 'innocent.m3u8');
  writeFileSync(
    playlist,
    ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', '#EXTINF:2.0,', `file:${segment}`, '#EXTINF:2.0,', rel, '#EXT-X-ENDLIST', ''].join('\n'),
  );
  return { playlist, segment };
}

/** The same playlist bytes under a video file name: probing, not the extension, must decide. */
export function disguise(file: string, as: string): string {
  copyFileSync(file, as);
  return as;
}

/**
 * An AVI whose headers declare a 200×200 picture while its one frame is a size×size PNG: a stream
 * that lies about its size, so only the decoder's own bound (max_pixels) can stop it. With an
 * audio track too, FFmpeg's stream probe sees two streams.
 */
export function writeLyingAvi(dir: string, size: number, o: { withAudio?: boolean } = {}): string {
  const png = path.join(dir, `lying-${size}.png`);
  writePngBomb(png, size, size);
  const avi = path.join(dir, `lying-${size}${o.withAudio ? '-audio' : ''}.avi`);
  const audio = o.withAudio ? ['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '1', '-c:a', 'pcm_s16le'] : [];
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', png, ...audio, '-c:v', 'copy', '-f', 'avi', avi]);
  if (r.status !== 0) throw new Error(`ffmpeg could not write the AVI: ${r.stderr.toString()}`);
  const bytes = readFileSync(avi);
  const real = Buffer.alloc(2);
  real.writeUInt16LE(size);
  let patched = 0;
  // avih dwWidth/dwHeight, strh rcFrame and strf biWidth/biHeight all sit in the first header list.
  for (let i = 0; i + 2 <= 0x100; i++) {
    if (bytes[i] === real[0] && bytes[i + 1] === real[1]) {
      bytes.writeUInt16LE(200, i);
      patched++;
    }
  }
  if (patched < 4) throw new Error(`found only ${patched} size fields to patch`);
  writeFileSync(avi, bytes);
  return avi;
}

/** Peak RSS (bytes) of `fn`, from the kernel's high-water mark, reset first (Linux clear_refs 5). */
export async function peakRssDuring(fn: () => Promise<void>): Promise<number> {
  const status = (): string => readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status())?.[1] ?? NaN) * 1024;
  writeFileSync('/proc/self/clear_refs', '5');
  const before = kb('VmRSS');
  await fn();
  return kb('VmHWM') - before;
}
