import { AV_PKT_FLAG_CORRUPT } from 'node-av/constants';
import { avGetCodecName } from 'node-av/lib';
import { AvInput } from './av-input.js';
import './ffmpeg-log.js';

export interface RecordedVideo {
  /** Whole video packets (frames) FFmpeg reads back. */
  readonly frames: number;
  /** From the first packet's decode time to the last one's end, in seconds (ffprobe's duration). */
  readonly durationSeconds: number;
  /** Where the last whole packet ends: anything after it is a fragment cut off mid-write. */
  readonly endOffset: number;
  readonly codec: string;
  readonly width: number;
  readonly height: number;
}

/**
 * Reads a recording's video back the way a player would (FFmpeg's demuxer, nothing but the file
 * protocol), to close a recording the daemon did not finish: how many frames and seconds survived.
 */
export async function probeRecordedVideo(file: string): Promise<RecordedVideo> {
  const input = await AvInput.open(file, { options: { protocol_whitelist: 'file', enable_drefs: '0' }, syncReads: true });
  try {
    const stream = input.video();
    if (!stream) return { frames: 0, durationSeconds: 0, endOffset: 0, codec: 'none', width: 0, height: 0 };
    const tb = stream.timeBase;
    let frames = 0;
    let first: number | undefined;
    let end = 0;
    let endOffset = 0;
    for await (const pkt of input.packets(stream.index)) {
      if (!pkt) break;
      if ((pkt.flags & AV_PKT_FLAG_CORRUPT) !== 0) break;
      frames++;
      // Decode times, as ffprobe measures a fragmented MP4: frames × frame duration.
      const dts = (Number(pkt.dts) * tb.num) / tb.den;
      first = first === undefined ? dts : Math.min(first, dts);
      end = Math.max(end, dts + (Number(pkt.duration) * tb.num) / tb.den);
      if (pkt.pos >= 0n) endOffset = Math.max(endOffset, Number(pkt.pos) + pkt.size);
    }
    const p = stream.codecpar;
    return { frames, durationSeconds: first === undefined ? 0 : end - first, endOffset, codec: avGetCodecName(p.codecId) ?? 'unknown', width: p.width, height: p.height };
  } finally {
    await input.close();
  }
}
