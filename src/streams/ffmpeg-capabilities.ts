/**
 * What this process's FFmpeg (through node-av) offers, for `daemon doctor`: versions, the
 * hardware device types it was built with, and its hardware-accelerated decoders. Whether a
 * device of a type really opens is `analysis.hwaccel`'s business (hw-device.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { HardwareContext } from 'node-av/api';
import { Codec, getFFmpegInfo } from 'node-av/lib';

export interface FfmpegCapabilities {
  readonly nodeAv: string | null;
  readonly ffmpeg: string;
  readonly libraries: Readonly<Record<string, string>>;
  /** av_hwdevice_iterate_types(): the device types FFmpeg was built with (not that one is present). */
  readonly hwDeviceTypes: readonly string[];
  /** Decoders with hardware acceleration (h264_cuvid, hevc_qsv, … and hwaccel-capable software ones). */
  readonly hwDecoders: readonly string[];
}

/** node-av's version: its exports map hides package.json, so it is found above the entry point. */
function nodeAvVersion(): string | null {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve('node-av'));
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'node-av') return typeof pkg.version === 'string' ? pkg.version : null;
    }
  } catch {
    // Not resolvable: unknown.
  }
  return null;
}

export function ffmpegCapabilities(): FfmpegCapabilities {
  const info = getFFmpegInfo();
  const nodeAv = nodeAvVersion();
  const hwDecoders = Codec.getCodecList()
    .filter((c) => c.isDecoder() && c.hasHardwareAcceleration())
    .map((c) => c.name)
    .filter((n): n is string => n !== null);
  return { nodeAv, ffmpeg: info.version, libraries: { ...info.libraries }, hwDeviceTypes: HardwareContext.listAvailable(), hwDecoders };
}
