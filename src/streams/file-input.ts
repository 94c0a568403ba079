import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { InputFormat } from 'node-av/lib';
import type { Stream } from 'node-av/lib';
import { ErrorCodes, SourceError } from '../core/errors.js';
import { AvInput, AvOpenError } from './av-input.js';
import './ffmpeg-log.js';
import { isUnderRoots } from './source-url.js';

/**
 * Demuxers that open other files or URLs named inside the input (playlists, concatenation lists,
 * manifests, sibling files, scripts, filter graphs). A file inside a root would otherwise reach
 * anything the daemon can read. Names as FFmpeg 8 spells them.
 */
export const NESTED_FORMATS: ReadonlySet<string> = new Set([
  'hls', // m3u8 playlists: segments by path or URL
  'dash', // MPD manifests
  'concat', // ffconcat lists
  'imf', // IMF composition playlists (CPL + asset map)
  'mlv', // Magic Lantern: opens sibling .M00… files
  'vobsub', // .idx opens the .sub beside it
  'sdp', // session descriptions: opens RTP network streams
  'rtp',
  'rtsp',
  'lavfi', // filter graphs (movie=any/file)
  'avisynth', // scripts
  'vapoursynth',
  'dvdvideo', // DVD structures
  'bluray',
  'tee',
]);

/** FFmpeg's own probe window (format_probesize default): the bytes avformat_open_input looks at. */
const PROBE_BYTES = 1 << 20;

export interface FileInputOptions {
  /** When given, the file's real path must lie under one of these (real-path) roots. */
  readonly fileRoots?: readonly string[];
  /** Let playlists and other nested-reference demuxers run (they can read outside the roots). */
  readonly allowNestedFormats?: boolean;
  /** `max_pixels` for the decoders find_stream_info opens while probing. */
  readonly maxPixels: number;
  /** Checks the streams' declared sizes before anything is decoded; throws to refuse. */
  readonly checkDeclared?: (streams: readonly Stream[]) => void;
  /** Checks a still image's header size before FFmpeg sees the file; throws to refuse. */
  readonly checkImageSize?: (size: { width: number; height: number }) => void;
  readonly signal?: AbortSignal;
}

function realOrNotFound(file: string): string {
  try {
    return realpathSync(file);
  } catch (err) {
    throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `file not found: ${file}`, { cause: err, context: { path: file } });
  }
}

/**
 * Resolves a file source and checks it, at every open (start, restart, each loop, restore): the
 * real path (symlinks followed) must be a regular file under the real-path roots.
 */
export function resolveFileSource(file: string, fileRoots?: readonly string[]): string {
  const real = realOrNotFound(file);
  if (fileRoots) {
    const roots = fileRoots.map((r) => {
      try {
        return realpathSync(r);
      } catch {
        return r;
      }
    });
    if (!isUnderRoots(real, roots)) {
      throw new SourceError(ErrorCodes.SOURCE_FORBIDDEN, `file sources must lie under the configured file roots (files.roots); ${file} resolves outside them`, {
        context: { path: file, reason: 'outside-roots' },
      });
    }
  }
  if (!statSync(real).isFile()) throw new SourceError(ErrorCodes.SOURCE_OPEN, `not a regular file: ${file}`, { context: { path: file } });
  return real;
}

function head(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(PROBE_BYTES, Math.max(0, statSync(file).size)));
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Width and height a still image declares in its header (PNG, JPEG), read before any decoder runs:
 * these formats carry no size in their container, and FFmpeg learns it only by decoding.
 */
export function declaredImageSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) return undefined;
      const marker = bytes[i + 1]!;
      if (marker === 0xff) {
        i++;
        continue;
      }
      const len = bytes.readUInt16BE(i + 2);
      // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: bytes.readUInt16BE(i + 7), height: bytes.readUInt16BE(i + 5) };
      }
      i += 2 + len;
    }
  }
  return undefined;
}

/**
 * Opens a media file so that FFmpeg can read nothing but it: the demuxer is chosen here (the same
 * probe FFmpeg runs) and forced, playlist-like demuxers are refused unless allowed, only the
 * `file` protocol is whitelisted, and QuickTime external references stay off.
 */
export async function openFileInput(file: string, o: FileInputOptions): Promise<AvInput> {
  const real = resolveFileSource(file, o.fileRoots);
  const bytes = head(real);
  const image = declaredImageSize(bytes);
  if (image) o.checkImageSize?.(image);
  const format = bytes.length > 0 ? InputFormat.probe(bytes, real) : null;
  if (!format) throw new SourceError(ErrorCodes.SOURCE_OPEN, `not a readable media file: ${file} (no demuxer recognises it)`, { context: { path: file } });
  const name = format.name ?? '';
  const nested = name.split(',').find((n) => NESTED_FORMATS.has(n));
  if (nested && !o.allowNestedFormats) {
    throw new SourceError(
      ErrorCodes.SOURCE_FORBIDDEN,
      `refusing ${nested} input ${file}: its entries could open files outside the roots (set files.allowNestedFormats to allow playlists)`,
      { context: { path: file, format: nested, reason: 'nested-format' } },
    );
  }
  const options: Record<string, string> = {
    protocol_whitelist: o.allowNestedFormats ? 'file,crypto,data' : 'file',
    enable_drefs: '0',
  };
  try {
    return await AvInput.open(real, {
      format,
      options,
      probeDecoderOptions: { max_pixels: String(o.maxPixels) },
      syncReads: true,
      ...(o.checkDeclared ? { beforeProbe: o.checkDeclared } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    if (o.signal?.aborted || err instanceof SourceError) throw err;
    const why = err instanceof AvOpenError || err instanceof Error ? err.message : String(err);
    throw new SourceError(ErrorCodes.SOURCE_OPEN, `not a readable media file: ${file}: ${why}`, { cause: err, context: { path: file, format: name } });
  }
}
