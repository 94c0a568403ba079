import { describe, expect, it } from 'vitest';
import { FfmpegLogFilter, ffmpegMessageKind } from './ffmpeg-log.js';

describe("FFmpeg's messages: what is said, and how often", () => {
  it('drops what the daemon causes by design: the probe without decoders, swscale on JPEG formats', () => {
    const f = new FfmpegLogFilter();
    for (const m of [
      "[h264 @ 0x7f33f000a080] Codec (h264) not on whitelist '-'",
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x42a94c40] Failed to open codec in avformat_find_stream_info',
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x42a94c40] Could not find codec parameters for stream 1 (Audio: mp3 (mp3float) (mp4a / 0x6134706D), 44100 Hz, 2 channels, 383 kb/s): unspecified frame size',
      "Consider increasing the value for the 'analyzeduration' (0) and 'probesize' (5000000) options",
      '[swscaler @ 0x33e919c0] deprecated pixel format used, make sure you did set range correctly',
    ]) {
      expect(f.admit(m)).toBeUndefined();
    }
  });

  it('reports each kind of message once, then at the 10th, 100th and 1000th time with the count', () => {
    const f = new FfmpegLogFilter();
    const reported: number[] = [];
    for (let i = 1; i <= 1500; i++) {
      const n = f.admit(`[h264 @ 0x${(0x1000 + i).toString(16)}] error while decoding MB ${i % 40} ${i % 23}, bytestream -${i}`);
      if (n !== undefined) reported.push(n);
    }
    expect(reported).toEqual([1, 10, 100, 1000]);
    // Another kind is its own first.
    expect(f.admit('[mjpeg @ 0x1] overread 8')).toBe(1);
    expect(f.admit('[mjpeg @ 0x2] overread 4')).toBeUndefined();
    expect(ffmpegMessageKind('[mjpeg @ 0xdeadbeef] error y=16 x=37')).toBe('[mjpeg] error y=# x=#');
  });

  it('a video stream without parameters is not the probe noise: it is reported', () => {
    const f = new FfmpegLogFilter();
    expect(f.admit('[mov,mp4 @ 0x1] Could not find codec parameters for stream 0 (Video: h264 (avc1 / 0x31637661), none, 640x360): unspecified size')).toBe(1);
  });
});
