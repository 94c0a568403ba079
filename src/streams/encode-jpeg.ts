import { Encoder, FilterAPI } from 'node-av/api';
import { AV_PIX_FMT_RGB24, FF_ENCODER_MJPEG } from 'node-av/constants';
import { Frame } from 'node-av/lib';
import './ffmpeg-log.js';

export interface RgbImage {
  /** Packed RGB24, width × height × 3. */
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * One RGB image as a baseline JPEG, encoded by FFmpeg's MJPEG encoder. `quality` is FFmpeg's
 * qscale (2 = best … 31 = worst). Every native frame and the filter are freed before returning.
 */
export async function encodeJpeg(img: RgbImage, quality = 5): Promise<Buffer> {
  if (img.data.length !== img.width * img.height * 3) throw new RangeError(`RGB buffer of ${img.data.length} bytes for ${img.width}×${img.height}`);
  const rgb = Frame.fromVideoBuffer(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    width: img.width,
    height: img.height,
    format: AV_PIX_FMT_RGB24,
    timeBase: { num: 1, den: 25 },
    pts: 0n,
  });
  // MJPEG takes full-range YUV; FFmpeg's scaler converts (odd sizes are padded by the encoder).
  const filter = FilterAPI.create('scale=out_range=full,format=yuv420p', {});
  let yuv: Frame | null = null;
  try {
    await filter.process(rgb);
    yuv = (await filter.receive()) ?? null;
    if (!yuv) throw new Error('the JPEG conversion filter produced no frame');
    return await Encoder.encodeOne(FF_ENCODER_MJPEG, yuv, { options: { qmin: quality, qmax: quality } });
  } finally {
    yuv?.free();
    rgb.free();
    filter.close();
  }
}
