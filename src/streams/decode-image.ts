/**
 * Still images (JPEG, PNG, BMP) decoded straight from their bytes with FFmpeg's decoders, without
 * a demuxer: about 0.2 ms for a 112×112 face against ≈ 6 ms through `openSource`, which matters
 * when a training step reads 60 faces. The pixels equal the demuxer path's (both end in swscale's
 * conversion to RGB24 at the image's own size).
 *
 * A damaged image is an error, never a picture: FFmpeg conceals what a truncated or corrupt file
 * lacks (grey blocks, black rows, a coarse progressive pass), and a model scores the concealment
 * as confidently as a face.
 *
 * JPEG can instead be decoded as the seed's PIL decodes it (`{ jpeg: 'pil' }`, decode-jpeg-pil.ts):
 * FFmpeg's IDCT, chroma upsampling and YCbCr matrix are not libjpeg-turbo's, and its pixels differ.
 */
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AV_CODEC_ID_BMP, AV_CODEC_ID_MJPEG, AV_CODEC_ID_PNG, AV_PIX_FMT_RGB24, SWS_BILINEAR, type AVPixelFormat } from 'node-av/constants';
import { Codec, CodecContext, FFmpegError, Frame, Packet, SoftwareScaleContext } from 'node-av/lib';
import { DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import { decodeJpegPil } from './decode-jpeg-pil.js';
import './ffmpeg-log.js';

export interface RgbImage {
  /** Packed RGB24, height × width × 3. */
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Images larger than this are refused: a hostile header must not make us allocate gigabytes. */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

type ImageCodec = 'jpeg' | 'png' | 'bmp';

/** The codec from the file's magic bytes (extensions lie). */
export function sniffImageCodec(bytes: Uint8Array): ImageCodec | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp';
  return undefined;
}

const CODEC_IDS = { jpeg: AV_CODEC_ID_MJPEG, png: AV_CODEC_ID_PNG, bmp: AV_CODEC_ID_BMP } as const;

/**
 * Why a JPEG's bytes stop before its end-of-image marker, or undefined when they reach it. The
 * marker is found by walking the segments (by their lengths, and through each scan's entropy-coded
 * data to the next marker), not by searching for FF D9: an EXIF thumbnail is a complete JPEG of its
 * own inside APP1, and its EOI would vouch for a cut main image. Bytes after EOI are allowed.
 */
export function jpegIncomplete(bytes: Uint8Array): string | undefined {
  let i = 2;
  while (i + 1 < bytes.length) {
    if (bytes[i] !== 0xff) return `no marker at byte ${i}`;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte before a marker
      continue;
    }
    if (marker === 0xd9) return undefined;
    // Markers without a length: TEM, RST0–7, SOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2;
      continue;
    }
    if (i + 3 >= bytes.length) break;
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
    if (marker === 0xda) {
      // Entropy-coded data runs to the next marker other than a stuffed FF 00 or a restart marker.
      while (i + 1 < bytes.length && !(bytes[i] === 0xff && bytes[i + 1] !== 0x00 && !(bytes[i + 1]! >= 0xd0 && bytes[i + 1]! <= 0xd7))) i++;
    }
  }
  return 'the file ends before its end-of-image marker (truncated)';
}

/** Why a PNG's chunks stop before IEND, or undefined when IEND is reached. Bytes after it are allowed. */
export function pngIncomplete(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 8; i + 8 <= bytes.length; ) {
    const length = view.getUint32(i);
    const type = String.fromCharCode(bytes[i + 4]!, bytes[i + 5]!, bytes[i + 6]!, bytes[i + 7]!);
    const end = i + 12 + length;
    if (end > bytes.length) return `the file ends inside its ${type} chunk (truncated)`;
    if (type === 'IEND') return undefined;
    i = end;
  }
  return 'the file ends before its IEND chunk (truncated)';
}

const INCOMPLETE: Partial<Record<ImageCodec, (bytes: Uint8Array) => string | undefined>> = { jpeg: jpegIncomplete, png: pngIncomplete };

/** AVFrame flag: the decoder knows the frame is damaged. */
const AV_FRAME_FLAG_CORRUPT = 1;

export interface DecodeImageOptions {
  /**
   * `pil`: JPEG decoded bit-exactly as PIL's `Image.open(p).convert('RGB')` (libjpeg-turbo, the
   * seed's stack; decode-jpeg-pil.ts), FFmpeg only for the JPEG kinds it does not cover.
   * `ffmpeg` (default): FFmpeg's decoder and swscale, as the demuxer path decodes.
   */
  readonly jpeg?: 'pil' | 'ffmpeg';
  /**
   * Images wider than this are scaled down (bilinear, to an even height, as analysisFilter does),
   * in the same swscale pass as the RGB conversion; never up. FFmpeg's path only (`jpeg: 'pil'` keeps the size).
   */
  readonly maxWidth?: number;
}

/** Decodes one encoded image to RGB24 at its own size. `name` only labels errors. */
export function decodeImage(bytes: Uint8Array, name: string, opts: DecodeImageOptions = {}): RgbImage {
  const kind = checkedKind(bytes, name);
  if (kind === 'jpeg' && opts.jpeg === 'pil') {
    const r = decodeJpegPil(bytes, name, MAX_IMAGE_PIXELS);
    if (r.kind === 'rgb') return { data: r.data, width: r.width, height: r.height };
  }
  const steps = ffmpegDecode(bytes, name, kind, opts);
  let r = steps.next();
  while (!r.done) {
    let ret: number;
    try {
      ret = r.value.sync();
    } catch (err) {
      r = steps.throw(err);
      continue;
    }
    r = steps.next(ret);
  }
  return r.value;
}

/**
 * decodeImage with FFmpeg's work (open, decode, conversion) on libuv's thread pool, through
 * node-av's asynchronous calls: the event loop is free while a frame decodes (a 1920×1080 JPEG
 * takes tens of milliseconds), which a source decoding frames as they arrive needs. FFmpeg's path.
 */
export async function decodeImageAsync(bytes: Uint8Array, name: string, opts: Omit<DecodeImageOptions, 'jpeg'> = {}): Promise<RgbImage> {
  const steps = ffmpegDecode(bytes, name, checkedKind(bytes, name), opts);
  let r = steps.next();
  while (!r.done) {
    let ret: number;
    try {
      ret = await r.value.async();
    } catch (err) {
      r = steps.throw(err);
      continue;
    }
    r = steps.next(ret);
  }
  return r.value;
}

/** The image's codec, once its magic bytes and its structure (complete to its end marker) are checked. */
function checkedKind(bytes: Uint8Array, name: string): ImageCodec {
  const kind = sniffImageCodec(bytes);
  if (kind === undefined) throw new DecodeError(ErrorCodes.DECODE, `${name}: not a JPEG, PNG or BMP image`);
  const incomplete = INCOMPLETE[kind]?.(bytes);
  if (incomplete !== undefined) throw new DecodeError(ErrorCodes.DECODE, `${name}: ${incomplete}`);
  return kind;
}

/** One native call, in both of node-av's forms: the driver picks one and hands back its result. */
interface NativeCall {
  sync(): number;
  async(): Promise<number>;
}

/**
 * FFmpeg's decode of one image as a sequence of native calls (yielded) around plain checks, so the
 * synchronous and the asynchronous decoder are one piece of code. Every native object is freed in
 * `finally`, on every path (a driver's failed call is thrown back in here).
 */
function* ffmpegDecode(bytes: Uint8Array, name: string, kind: ImageCodec, opts: Pick<DecodeImageOptions, 'maxWidth'>): Generator<NativeCall, RgbImage, number> {
  const codec = Codec.findDecoder(CODEC_IDS[kind]);
  if (codec === null) throw new DecodeError(ErrorCodes.UNSUPPORTED_CODEC, `${name}: FFmpeg has no ${kind} decoder`);
  const ctx = new CodecContext();
  const packet = new Packet();
  const frame = new Frame();
  const rgb = new Frame();
  const sws = new SoftwareScaleContext();
  try {
    ctx.allocContext3(codec);
    ctx.threadCount = 1;
    // The decoder allocates from the header's size: cap it before a hostile header asks for gigabytes.
    check(ctx.setOption('max_pixels', MAX_IMAGE_PIXELS), name, 'limit the image size');
    // A damaged scan fails the decode instead of being concealed ('explode'); so does a frame with
    // any part missing (the PNG decoder's own measure; 95 % missing by default).
    check(ctx.setOption('err_detect', 'explode'), name, 'enable error detection');
    check(ctx.setOption('discard_damaged_percentage', '0'), name, 'refuse damaged frames');
    check(yield { sync: () => ctx.open2Sync(codec, null), async: () => ctx.open2(codec, null) }, name, 'open the decoder');
    packet.alloc();
    packet.data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    frame.alloc();
    check(yield { sync: () => ctx.sendPacketSync(packet), async: () => ctx.sendPacket(packet) }, name, 'decode');
    let ret = yield { sync: () => ctx.receiveFrameSync(frame), async: () => ctx.receiveFrame(frame) };
    if (ret < 0) {
      // Some decoders hold the frame until they are flushed.
      yield { sync: () => ctx.sendPacketSync(null), async: () => ctx.sendPacket(null) };
      ret = yield { sync: () => ctx.receiveFrameSync(frame), async: () => ctx.receiveFrame(frame) };
    }
    check(ret, name, 'decode');
    if (frame.decodeErrorFlags !== 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT) !== 0) {
      throw new DecodeError(ErrorCodes.DECODE, `${name}: the image is damaged (FFmpeg decode error flags ${frame.decodeErrorFlags})`);
    }
    const { width, height } = frame;
    if (!(width > 0 && height > 0) || width * height > MAX_IMAGE_PIXELS) throw new DecodeError(ErrorCodes.DECODE, `${name}: bad image size ${width}×${height}`);
    const [outWidth, outHeight] = scaledSize(width, height, opts.maxWidth);
    rgb.alloc();
    rgb.width = outWidth;
    rgb.height = outHeight;
    rgb.format = AV_PIX_FMT_RGB24;
    // FFmpeg's default alignment, never 1: swscale's x86 YUV→RGB24 path writes 16-pixel blocks and,
    // on rows packed to 3 × width, stops at the last 8-pixel multiple that fits, so a 4:2:0 or 4:2:2
    // image of even height and width ≡ 1–7 (mod 16) kept 1–7 columns of uninitialised memory (134 px:
    // columns 128–133). Padded rows (stride a multiple of 64, ≥ the width rounded up to 64) take the
    // whole last block; toBuffer() copies out width × 3 bytes per row.
    check(rgb.getBuffer(0), name, 'allocate the RGB frame');
    sws.allocContext();
    sws.getContext(width, height, frame.format as AVPixelFormat, outWidth, outHeight, AV_PIX_FMT_RGB24, SWS_BILINEAR);
    check(yield { sync: () => sws.scaleFrameSync(rgb, frame), async: () => sws.scaleFrame(rgb, frame) }, name, 'convert to RGB');
    const data = new Uint8Array(rgb.toBuffer());
    if (data.length !== outWidth * outHeight * 3) throw new DecodeError(ErrorCodes.DECODE, `${name}: RGB conversion gave ${data.length} bytes for ${outWidth}×${outHeight}`);
    return { data, width: outWidth, height: outHeight };
  } finally {
    sws.freeContext();
    rgb.free();
    frame.free();
    packet.free();
    ctx.freeContext();
  }
}

/** The size an image of width × height is converted to under `maxWidth` (an even height, at least 2). */
export function scaledSize(width: number, height: number, maxWidth: number | undefined): [number, number] {
  if (maxWidth === undefined || width <= maxWidth) return [width, height];
  return [maxWidth, Math.max(2, 2 * Math.round((height * maxWidth) / width / 2))];
}

function check(ret: number, name: string, what: string): void {
  if (ret < 0) throw new DecodeError(ErrorCodes.DECODE, `${name}: cannot ${what} (${FFmpegError.strerror(ret)})`);
}

/** Files larger than this are not read: no still within MAX_IMAGE_PIXELS needs more. */
export const MAX_IMAGE_FILE_BYTES = 256 << 20;

/**
 * An image file's bytes. Opened without blocking (a FIFO named face.jpg would otherwise wait for
 * a writer forever) and read only when it is a regular file of at most MAX_IMAGE_FILE_BYTES.
 * Throws a plain Error saying why; callers add their own code and wording.
 */
export async function readImageBytes(file: string): Promise<Buffer> {
  const fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_IMAGE_FILE_BYTES) throw new Error(`${st.size} bytes, over the ${MAX_IMAGE_FILE_BYTES >> 20} MiB limit for an image`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** Reads and decodes an image file. */
export async function readImageFile(file: string, opts: DecodeImageOptions = {}): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readImageBytes(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ErrorCodes.SOURCE_NOT_FOUND : ErrorCodes.SOURCE_OPEN;
    throw new SourceError(code, `${file}: cannot read the image (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  return decodeImage(bytes, file, opts);
}
