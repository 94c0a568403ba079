import { AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX, AV_HWDEVICE_TYPE_CUDA, AV_HWDEVICE_TYPE_QSV, AV_HWDEVICE_TYPE_VAAPI } from 'node-av/constants';
import type { AVCodecID, AVHWDeviceType } from 'node-av/constants';
import { Codec, FFmpegError, HardwareDeviceContext } from 'node-av/lib';
import type { CodecContext } from 'node-av/lib';
import './ffmpeg-log.js';

/** What `analysis.hwaccel` may ask for. */
export const HWACCEL_MODES = ['none', 'auto', 'cuda', 'vaapi', 'qsv'] as const;
export type HwaccelMode = (typeof HWACCEL_MODES)[number];
export type HwDeviceType = Exclude<HwaccelMode, 'none' | 'auto'>;

const DEVICE_TYPE_IDS: Readonly<Record<HwDeviceType, AVHWDeviceType>> = { cuda: AV_HWDEVICE_TYPE_CUDA, vaapi: AV_HWDEVICE_TYPE_VAAPI, qsv: AV_HWDEVICE_TYPE_QSV };

/** The order `auto` tries devices in: node-av's preference on Linux x86, restricted to the types the key names. */
export const AUTO_ORDER: readonly HwDeviceType[] = ['cuda', 'vaapi', 'qsv'];

/** Why a stream that asked for hardware decoding decodes in software (the `reason` label). */
export type HwFallbackReason =
  /** `auto`: no device of any type could be opened. */
  | 'no-device'
  /** The named device could not be opened (no driver, no device node, FFmpeg built without it). */
  | 'device-unavailable'
  /** A device opened, but no decoder for the stream's codec runs on it. */
  | 'codec-unsupported'
  /** Opening the decoder with the device failed; it was opened again without. */
  | 'decoder-open-failed'
  /** The decoder opened with the device and still produced software frames (e.g. a profile the hardware lacks). */
  | 'decoder-declined';

/** One stream open's decoder, as the daemon shows it (`GET /v1/streams/{id}`, the log). */
export interface DecoderReport {
  readonly requested: HwaccelMode;
  /** What decoded the frames: `software`, or the hardware device type. */
  readonly decoder: 'software' | HwDeviceType;
  /** FFmpeg's decoder (h264, hevc_qsv …). */
  readonly codec: string;
  readonly fallback?: { readonly reason: HwFallbackReason; readonly message: string };
}

/** A hardware device context, owned: `close()` releases it (idempotent). */
export interface HwDevice {
  readonly type: HwDeviceType;
  /** Gives the decoder its own reference to the device (the decoder releases it when freed). */
  attach(ctx: CodecContext): void;
  close(): void;
}

/** Opens a device of one type or throws saying why; injected in tests, `openFfmpegHwDevice` otherwise. */
export type HwDeviceOpener = (type: HwDeviceType) => HwDevice;

/** FFmpeg's `av_hwdevice_ctx_create` on the default device of a type (VAAPI tries the DRM render nodes). */
export const openFfmpegHwDevice: HwDeviceOpener = (type) => {
  const id = DEVICE_TYPE_IDS[type];
  if (!HardwareDeviceContext.iterateTypes().includes(id)) throw new Error(`FFmpeg was built without ${type}`);
  const ctx = new HardwareDeviceContext();
  const ret = ctx.create(id, null, null);
  if (ret < 0) {
    ctx.free();
    throw new Error(FFmpegError.strerror(ret));
  }
  let closed = false;
  return {
    type,
    attach: (codecCtx) => {
      codecCtx.hwDeviceCtx = ctx;
    },
    close: () => {
      if (closed) return;
      closed = true;
      ctx.free();
    },
  };
};

/**
 * A decoder for the codec that decodes on this device type through FFmpeg's device-context
 * method: the stream's default decoder when it has such a hwaccel (h264 on cuda or vaapi), else a
 * dedicated one (h264_qsv). Null when none does.
 */
export function hwDecoderFor(codecId: AVCodecID, type: HwDeviceType): Codec | null {
  const id = DEVICE_TYPE_IDS[type];
  const fits = (c: Codec): boolean => {
    for (let i = 0; ; i++) {
      const config = c.getHwConfig(i);
      if (!config) return false;
      if (config.deviceType === id && (config.methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) !== 0) return true;
    }
  };
  const preferred = Codec.findDecoder(codecId);
  if (preferred && fits(preferred)) return preferred;
  return Codec.getCodecList().find((c) => c.id === codecId && c.isDecoder() && fits(c)) ?? null;
}

export type HwChoice =
  | { readonly device: HwDevice; readonly codec: Codec }
  | { readonly device?: undefined; readonly fallback: { readonly reason: HwFallbackReason; readonly message: string } };

/**
 * The device and decoder a stream asking for `mode` gets, or why it gets none. A device opened and
 * then not used (its type cannot decode the codec) is closed here; the caller owns the one returned.
 */
export function chooseHwDecoder(mode: Exclude<HwaccelMode, 'none'>, codecId: AVCodecID, codecName: string, open: HwDeviceOpener): HwChoice {
  const types = mode === 'auto' ? AUTO_ORDER : [mode];
  const tried: string[] = [];
  let opened = 0;
  for (const type of types) {
    let device: HwDevice;
    try {
      device = open(type);
    } catch (err) {
      tried.push(`${type}: ${(err as Error).message}`);
      continue;
    }
    opened++;
    const codec = hwDecoderFor(codecId, type);
    if (codec) return { device, codec };
    device.close();
    tried.push(`${type}: no ${codecName} decoder`);
  }
  if (opened > 0) {
    return { fallback: { reason: 'codec-unsupported', message: `no hardware decoder for ${codecName} on the device (${tried.join('; ')})` } };
  }
  if (mode === 'auto') return { fallback: { reason: 'no-device', message: `no hardware device could be opened (${tried.join('; ')})` } };
  const why = tried[0]?.replace(/^\w+: /, '') ?? 'unknown';
  return { fallback: { reason: 'device-unavailable', message: `the ${mode} device could not be opened: ${why} (needs ${NEEDS[mode]})` } };
}

/** What a device type needs on the host, for the fallback message. */
const NEEDS: Readonly<Record<HwDeviceType, string>> = {
  cuda: "NVIDIA's driver (libcuda.so.1) and the GPU visible to the process",
  vaapi: 'a VA-API driver and a readable /dev/dri/renderD* node',
  qsv: "Intel's oneVPL runtime and media driver, and a readable /dev/dri/renderD* node",
};
