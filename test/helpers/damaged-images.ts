/**
 * Damaged stills built at test time from real images: the cuts a crashed copy, a half-finished
 * download or a full disk leave behind, which FFmpeg's decoders conceal (grey or half-drawn
 * pictures) unless told not to.
 */
import { crc32 } from 'node:zlib';

/** The first `fraction` of the bytes. */
export function cut(bytes: Uint8Array, fraction: number): Buffer {
  return Buffer.from(bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

/** Offsets of every start-of-scan marker (FF DA) that begins a segment, in order. */
export function jpegScanOffsets(jpeg: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 2; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xda) out.push(i);
  return out;
}

/**
 * A progressive JPEG cut just before one of its later scans: every byte up to there is intact, so
 * the decoder overreads nothing and shows the coarse picture of the scans it got.
 */
export function jpegCutBetweenScans(progressive: Uint8Array): Buffer {
  const scans = jpegScanOffsets(progressive);
  if (scans.length < 3) throw new Error(`not a progressive JPEG (${scans.length} scans)`);
  return Buffer.from(progressive.subarray(0, scans[Math.floor(scans.length / 2)]!));
}

/** The whole image without its end-of-image marker. */
export function jpegWithoutEoi(jpeg: Uint8Array): Buffer {
  if (jpeg[jpeg.length - 2] !== 0xff || jpeg[jpeg.length - 1] !== 0xd9) throw new Error('the JPEG does not end in EOI');
  return Buffer.from(jpeg.subarray(0, jpeg.length - 2));
}

/**
 * `jpeg` with an EXIF-like APP1 segment right after SOI that carries `thumbnail`, a complete JPEG
 * of its own (as cameras write): its EOI marker sits inside the APP1, so a check that only looks
 * for FF D9 anywhere in the file is fooled once the main image is cut.
 */
export function jpegWithThumbnail(jpeg: Uint8Array, thumbnail: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), Buffer.from(thumbnail)]);
  if (body.length + 2 > 0xffff) throw new Error('thumbnail too large for one APP1 segment');
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([Buffer.from(jpeg.subarray(0, 2)), header, body, Buffer.from(jpeg.subarray(2))]);
}

/** Bytes after the end of a valid image, as some cameras and uploaders leave them. */
export function withTrailingGarbage(bytes: Uint8Array, n = 1000): Buffer {
  const tail = Buffer.alloc(n);
  for (let i = 0; i < n; i++) tail[i] = (i * 37 + 11) & 0xff;
  return Buffer.concat([Buffer.from(bytes), tail]);
}

interface PngChunk {
  readonly type: string;
  readonly data: Buffer;
}

function pngChunks(png: Uint8Array): PngChunk[] {
  const b = Buffer.from(png);
  const out: PngChunk[] = [];
  for (let i = 8; i + 12 <= b.length; ) {
    const len = b.readUInt32BE(i);
    out.push({ type: b.toString('latin1', i + 4, i + 8), data: b.subarray(i + 8, i + 8 + len) });
    i += 12 + len;
  }
  return out;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

function pngFrom(chunks: readonly PngChunk[]): Buffer {
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks.map((c) => pngChunk(c.type, c.data))]);
}

/**
 * A PNG of several IDAT chunks with the second half of them dropped and a valid IEND after the
 * rest: every chunk and CRC is intact, the compressed image just stops (FFmpeg draws the rows it
 * got and leaves the others black).
 */
export function pngWithRowsMissing(png: Uint8Array): Buffer {
  const chunks = pngChunks(png);
  const idats = chunks.filter((c) => c.type === 'IDAT');
  if (idats.length < 2) throw new Error(`need a PNG of several IDAT chunks (has ${idats.length})`);
  const keep = new Set(idats.slice(0, Math.ceil(idats.length / 2)));
  return pngFrom(chunks.filter((c) => c.type !== 'IDAT' || keep.has(c)));
}

/** The whole PNG without its IEND chunk (the file stops where the image data does). */
export function pngWithoutIend(png: Uint8Array): Buffer {
  return pngFrom(pngChunks(png).filter((c) => c.type !== 'IEND'));
}
