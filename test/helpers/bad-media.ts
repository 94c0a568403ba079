import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeDemoClip } from '../../src/streams/open-source.js';

/** Bad inputs built at test time from real media (nothing is committed). */
export async function makeBadMedia(dir: string, utterance: string): Promise<Record<'notVideo' | 'truncated' | 'unknownCodec' | 'missing', string>> {
  const notVideo = path.join(dir, 'notes.mp4');
  writeFileSync(notVideo, 'this is a text file pretending to be a video\n'.repeat(50));
  const truncated = path.join(dir, 'truncated.mp4');
  const full = readFileSync(utterance);
  writeFileSync(truncated, full.subarray(0, Math.floor(full.length * 0.4)));
  // An AVI whose codec tag no decoder knows: encode MPEG-4 Part 2, then rename its FourCC.
  const avi = path.join(dir, 'unknown-codec.avi');
  await writeDemoClip(avi, { width: 160, height: 96, fps: 10, seconds: 1, codec: 'mpeg4' });
  const bytes = readFileSync(avi);
  let patched = 0;
  for (let i = 0; i + 4 <= bytes.length; i++) {
    const tag = bytes.toString('latin1', i, i + 4);
    if (tag === 'FMP4' || tag === 'XVID' || tag === 'DIVX') {
      bytes.write('QQQ9', i, 'latin1');
      patched++;
    }
  }
  if (patched === 0) throw new Error('could not find the MPEG-4 FourCC to patch');
  writeFileSync(avi, bytes);
  return { notVideo, truncated, unknownCodec: avi, missing: path.join(dir, 'does-not-exist.mp4') };
}
