/**
 * RGB24 pixels → JPEG or PNG bytes with FFmpeg's encoders (for `daemon align` crops and generated
 * datasets). Synchronous and demuxer-free: ≈ 0.3 ms for a 112×112 face.
 */
import {
  AV_CODEC_FLAG_QSCALE,
  AV_CODEC_ID_MJPEG,
  AV_CODEC_ID_PNG,
  AV_PIX_FMT_RGB24,
  AV_PIX_FMT_YUVJ420P,
  FF_QP2LAMBDA,
  SWS_ACCURATE_RND,
  SWS_BICUBIC,
  type AVPixelFormat,
  type SwsFlags,
} from 'node-av/constants';
import { Codec, CodecContext, Frame, Packet, Rational, SoftwareScaleContext } from 'node-av/lib';
import { DecodeError, ErrorCodes } from '../core/errors.js';
import './ffmpeg-log.js';

function checkInput(rgb: Uint8Array, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 16384 || height > 16384) {
    throw new RangeError(`image size must be 1..16384 per side, got ${width}×${height}`);
  }
  if (rgb.length !== width * height * 3) throw new RangeError(`expected ${width * height * 3} RGB bytes for ${width}×${height}, got ${rgb.length}`);
}

function check(ret: number, what: string): void {
  if (ret < 0) throw new DecodeError(ErrorCodes.DECODE, `cannot ${what} (FFmpeg error ${ret})`);
}

function encode(rgb: Uint8Array, width: number, height: number, codecId: typeof AV_CODEC_ID_MJPEG, pixFmt: AVPixelFormat, setup: (ctx: CodecContext) => void): Buffer {
  checkInput(rgb, width, height);
  const codec = Codec.findEncoder(codecId);
  if (codec === null) throw new DecodeError(ErrorCodes.UNSUPPORTED_CODEC, 'FFmpeg has no such image encoder');
  const ctx = new CodecContext();
  const src = new Frame();
  const dst = new Frame();
  const packet = new Packet();
  const sws = new SoftwareScaleContext();
  try {
    ctx.allocContext3(codec);
    ctx.width = width;
    ctx.height = height;
    ctx.pixelFormat = pixFmt;
    ctx.timeBase = new Rational(1, 25);
    ctx.threadCount = 1;
    setup(ctx);
    check(ctx.open2Sync(codec, null), 'open the image encoder');
    src.alloc();
    src.width = width;
    src.height = height;
    src.format = AV_PIX_FMT_RGB24;
    check(src.getBuffer(1), 'allocate a frame');
    check(src.fromBuffer(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength)), 'fill a frame');
    let frame = src;
    if (pixFmt !== AV_PIX_FMT_RGB24) {
      dst.alloc();
      dst.width = width;
      dst.height = height;
      dst.format = pixFmt;
      check(dst.getBuffer(1), 'allocate a frame');
      sws.allocContext();
      sws.getContext(width, height, AV_PIX_FMT_RGB24, width, height, pixFmt, (SWS_BICUBIC | SWS_ACCURATE_RND) as SwsFlags);
      check(sws.scaleFrameSync(dst, src), 'convert the pixels');
      frame = dst;
    }
    frame.pts = 0n;
    check(ctx.sendFrameSync(frame), 'encode');
    check(ctx.sendFrameSync(null), 'flush the encoder');
    packet.alloc();
    const chunks: Buffer[] = [];
    while (ctx.receivePacketSync(packet) >= 0) {
      if (packet.data !== null) chunks.push(Buffer.from(packet.data));
      packet.unref();
    }
    if (chunks.length === 0) throw new DecodeError(ErrorCodes.DECODE, 'the image encoder produced no data');
    return Buffer.concat(chunks);
  } finally {
    sws.freeContext();
    packet.free();
    dst.free();
    src.free();
    ctx.freeContext();
  }
}

/**
 * JPEG at `quality` 1..100 (mapped linearly onto FFmpeg's qscale 31..2; 95 ≈ qscale 3),
 * 4:2:0 full-range as libjpeg writes by default.
 */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality = 95): Buffer {
  if (!(quality >= 1 && quality <= 100)) throw new RangeError(`JPEG quality must be 1..100, got ${quality}`);
  const q = Math.round(2 + ((100 - quality) * 29) / 99);
  return encode(rgb, width, height, AV_CODEC_ID_MJPEG, AV_PIX_FMT_YUVJ420P, (ctx) => {
    ctx.setFlags(AV_CODEC_FLAG_QSCALE);
    ctx.globalQuality = q * FF_QP2LAMBDA;
    ctx.qMin = q;
    ctx.qMax = q;
  });
}

/** Lossless PNG (RGB24). */
export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  return encode(rgb, width, height, AV_CODEC_ID_PNG as typeof AV_CODEC_ID_MJPEG, AV_PIX_FMT_RGB24, () => undefined);
}
