import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SnapshotFrame } from '../pipeline/snapshot-tap.js';
import { SnapshotStore } from './snapshots.js';

// The real encoder, wrapped to see how many encodes run at once.
const encoding = vi.hoisted(() => ({ now: 0, max: 0, total: 0 }));
vi.mock('../streams/encode-jpeg.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../streams/encode-jpeg.js')>();
  return {
    ...real,
    encodeJpeg: async (img: Parameters<typeof real.encodeJpeg>[0], quality?: number) => {
      encoding.now++;
      encoding.total++;
      encoding.max = Math.max(encoding.max, encoding.now);
      try {
        return await real.encodeJpeg(img, quality);
      } finally {
        encoding.now--;
      }
    },
  };
});

const W = 4096;
const H = 2160;

function frame(seq: number): SnapshotFrame {
  const data = new Uint8Array(W * H * 3);
  // A different grey per frame, so an answer can be matched to its frame by size and content.
  data.fill((seq * 37) % 256);
  return { seq, pts: seq / 10, wallTime: 1_000_000 + seq, sourceWidth: W, sourceHeight: H, image: { data, width: W, height: H }, faces: [{ trackId: 1, box: [100, 100, 400, 400] }] };
}

afterEach(() => Object.assign(encoding, { now: 0, max: 0, total: 0 }));

describe('SnapshotStore with 4096×2160 frames', () => {
  it('runs at most one encode per variant however fast frames arrive and clients ask', async () => {
    // Frames offered ten times a second, faster than FFmpeg encodes a 4K JPEG on a busy box.
    const store = new SnapshotStore(100);
    let seq = 0;
    store.put(frame(seq), 0);
    const feeder = setInterval(() => store.put(frame(++seq), seq * 100), 100);
    const seen: { variant: boolean; seq: number; bytes: number }[] = [];
    const t0 = Date.now();
    try {
      await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          while (Date.now() - t0 < 8000) {
            const s = await store.jpeg(i % 2 === 1);
            expect(s).toBeDefined();
            expect(s!.jpeg.readUInt16BE(0)).toBe(0xffd8);
            expect(s!.wallTime).toBe(1_000_000 + s!.seq);
            seen.push({ variant: i % 2 === 1, seq: s!.seq, bytes: s!.jpeg.length });
            // Clients poll out of step with each other (and let the feeder's timer run).
            await new Promise((r) => setTimeout(r, 20 + ((i * 37) % 200)));
          }
        }),
      );
    } finally {
      clearInterval(feeder);
    }
    // Two variants: never more than two encodes in flight, and never more than one per frame and variant.
    expect(encoding.max).toBeLessThanOrEqual(2);
    const distinct = new Set(seen.map((s) => `${s.variant}:${s.seq}`)).size;
    expect(encoding.total).toBe(distinct);
    // Answers move forward: each caller sees the newest finished encode, not an old frame.
    expect(new Set(seen.map((s) => s.seq)).size).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
