/**
 * Re-encodes a video with every frame painted by a JS callback (the annotated video of
 * `daemon predict --render`): node-av demuxes and decodes, FFmpeg scales each frame to the size the
 * painter asks for, the painter fills the output RGB canvas, FFmpeg encodes it (H.264 where the build
 * has libx264, else MPEG-4) at the input's timestamps, and the audio packets are copied unchanged.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Decoder, Demuxer, Encoder, FilterAPI, Muxer } from 'node-av/api';
import { AV_PIX_FMT_RGB24, FF_ENCODER_LIBX264, FF_ENCODER_MPEG4 } from 'node-av/constants';
import { Codec, Frame, Rational, avGetCodecName, type Packet, type Stream } from 'node-av/lib';
import { AnalyticsError, DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import type { RgbImage } from './encode-jpeg.js';
import { FileOutput, containerOf } from './file-output.js';
import './ffmpeg-log.js';

export interface RenderGeometry {
  /** The output video (even numbers). */
  readonly width: number;
  readonly height: number;
  /** Each decoded frame is scaled to exactly this size before it is painted. */
  readonly frameWidth: number;
  readonly frameHeight: number;
}

export interface RenderVideoOptions {
  readonly input: string;
  /** .mp4, .mkv or .mov; written to `<output>.partial` and renamed into place on success. */
  readonly output: string;
  /** Chooses the geometry once the source's size is known. */
  geometry(source: { readonly width: number; readonly height: number }): RenderGeometry;
  /** Paints one output frame (RGB24, width × height × 3) from the scaled decoded frame. */
  paint(frame: { readonly index: number; readonly pts: number; readonly image: RgbImage }, out: Uint8Array): void;
}

export interface RenderSummary {
  readonly frames: number;
  readonly codec: 'libx264' | 'mpeg4';
  readonly width: number;
  readonly height: number;
  readonly audio: boolean;
}

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);

export async function renderVideo(o: RenderVideoOptions): Promise<RenderSummary> {
  if (!existsSync(o.input)) throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `file not found: ${o.input}`);
  if (path.resolve(o.output) === path.resolve(o.input)) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, 'the annotated video must not overwrite its input');
  let input: Demuxer;
  try {
    input = await Demuxer.open(o.input);
  } catch (err) {
    throw new SourceError(ErrorCodes.SOURCE_OPEN, `not a readable media file: ${(err as Error).message}`, { cause: err });
  }
  const partial = `${o.output}.partial`;
  let file: FileOutput | undefined;
  let decoder: Decoder | undefined;
  let scaler: FilterAPI | undefined;
  let toYuv: FilterAPI | undefined;
  let encoder: Encoder | undefined;
  let output: Muxer | undefined;
  let ok = false;
  try {
    const video = input.video();
    if (!video) throw new SourceError(ErrorCodes.SOURCE_NO_VIDEO, 'the source has no video stream');
    const audio: Stream | undefined = input.audio();
    try {
      decoder = await Decoder.create(video);
    } catch (err) {
      const codec = avGetCodecName(video.codecpar.codecId) ?? `codec id ${String(video.codecpar.codecId)}`;
      throw new SourceError(ErrorCodes.UNSUPPORTED_CODEC, `no decoder for video codec ${codec}: ${(err as Error).message}`, { cause: err });
    }
    const dec = decoder;
    const g = o.geometry({ width: video.codecpar.width, height: video.codecpar.height });
    const width = even(g.width);
    const height = even(g.height);
    scaler = FilterAPI.create(`scale=${g.frameWidth}:${g.frameHeight}:flags=bilinear,format=rgb24`, {});
    toYuv = FilterAPI.create('format=yuv420p', {});
    const codec = Codec.findEncoderByName(FF_ENCODER_LIBX264) ? 'libx264' : 'mpeg4';
    const rate = video.avgFrameRate.num > 0 && video.avgFrameRate.den > 0 ? video.avgFrameRate : new Rational(25, 1);
    const tb = video.timeBase;
    encoder =
      codec === 'libx264'
        ? await Encoder.create(FF_ENCODER_LIBX264, { context: { timeBase: tb, framerate: rate }, options: { preset: 'veryfast', crf: 23 } })
        : await Encoder.create(FF_ENCODER_MPEG4, { context: { timeBase: tb, framerate: rate, bitRate: '6M' } });
    file = new FileOutput(partial);
    output = await Muxer.open(file.callbacks, { format: containerOf(o.output) });
    const vIndex = output.addStream(encoder, { inputStream: video });
    const aIndex = audio ? output.addStream(audio) : -1;
    // As ffmpeg does for a stream copy: the input container's codec tag may be invalid in the
    // output container (mp4a in Matroska); 0 lets the muxer choose its own.
    const copied = aIndex >= 0 ? output.getStream(aIndex) : undefined;
    if (copied) copied.codecpar.codecTag = 0;
    const canvas = new Uint8Array(width * height * 3);
    let index = 0;
    const nominal = (rate.den / rate.num) * (tb.den / tb.num);
    const enc = encoder;
    const out = output;
    const writeAll = async (packets: Packet[]): Promise<void> => {
      for (const p of packets) {
        try {
          await out.writePacket(p, vIndex);
        } finally {
          p.free();
        }
      }
    };
    const paintAndEncode = async (decoded: Frame): Promise<void> => {
      const pts = decoded.pts < -(2n ** 62n) ? BigInt(Math.round(index * nominal)) : decoded.pts;
      let scaled: Frame | null = null;
      try {
        await scaler!.process(decoded);
        scaled = (await scaler!.receive()) ?? null;
      } finally {
        decoded.free();
      }
      if (!scaled) return;
      let image: RgbImage;
      try {
        image = { data: new Uint8Array(scaled.toBuffer()), width: scaled.width, height: scaled.height };
      } finally {
        scaled.free();
      }
      o.paint({ index, pts: (Number(pts) * tb.num) / tb.den, image }, canvas);
      index++;
      const rgb = Frame.fromVideoBuffer(Buffer.from(canvas.buffer, canvas.byteOffset, canvas.byteLength), {
        width,
        height,
        format: AV_PIX_FMT_RGB24,
        timeBase: tb,
        pts,
      });
      let yuv: Frame | null = null;
      try {
        await toYuv!.process(rgb);
        yuv = (await toYuv!.receive()) ?? null;
        if (yuv) {
          yuv.pts = pts;
          await writeAll(await enc.encodeAll(yuv));
        }
      } finally {
        yuv?.free();
        rgb.free();
      }
    };
    const decode = async (packet: Packet | null): Promise<Frame[]> => {
      try {
        if (packet) return await dec.decodeAll(packet);
        const rest: Frame[] = [];
        for await (const f of dec.flushFrames()) rest.push(f);
        return rest;
      } catch (err) {
        throw new DecodeError(ErrorCodes.DECODE, `decoding failed after ${index} frames: ${(err as Error).message}`, { cause: err });
      }
    };
    /** Paints each frame in order; frames not reached (after a failure) are freed too. */
    const paintAll = async (frames: Frame[]): Promise<void> => {
      let i = 0;
      try {
        for (; i < frames.length; i++) await paintAndEncode(frames[i]!);
      } finally {
        for (i++; i < frames.length; i++) frames[i]!.free();
      }
    };
    for await (const packet of input.packets()) {
      if (!packet) break;
      try {
        if (packet.streamIndex === video.index) {
          await paintAll(await decode(packet));
        } else if (audio && packet.streamIndex === audio.index) {
          await out.writePacket(packet, aIndex);
        }
      } finally {
        packet.free();
      }
    }
    await paintAll(await decode(null));
    if (index === 0) throw new DecodeError(ErrorCodes.DECODE, 'no video frame could be decoded (truncated or corrupt file?)');
    await writeAll(await enc.encodeAll(null));
    await out.close();
    file.close();
    renameSync(partial, o.output);
    ok = true;
    return { frames: index, codec, width, height, audio: audio !== undefined };
  } finally {
    scaler?.close();
    toYuv?.close();
    decoder?.close();
    if (!ok) await output?.close().catch(() => undefined);
    encoder?.close();
    await input.close();
    file?.close();
    if (!ok) rmSync(partial, { force: true });
  }
}
