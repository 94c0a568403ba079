import { asStreamId } from '../../src/core/ids.js';
import type { AlignedFace, FacesRecord, FrameRecord } from '../../src/core/records.js';
import { computeAlignment } from '../../src/models/face-aligner/index.js';
import type { DetectedFace } from '../../src/models/face-detector/index.js';
import type { RawFrame } from '../../src/streams/open-source.js';

/** A face the fake detector "finds": a box with plausible landmarks inside it. */
export function fakeFace(x = 100, y = 80, size = 120): DetectedFace {
  const p = (fx: number, fy: number) => [x + fx * size, y + fy * size] as const;
  return { box: [x, y, size, size], score: 0.9, landmarks: [p(0.3, 0.35), p(0.7, 0.35), p(0.5, 0.55), p(0.35, 0.75), p(0.65, 0.75)] };
}

export function rawFrame(index: number, width = 64, height = 48): RawFrame {
  return { index, pts: index / 25, sourceWidth: width, sourceHeight: height, data: new Uint8Array(width * height * 3), width, height, decodeSeconds: 0.001 };
}

/** A source at the openSource seam: `frames` frames, then `end` (complete, or throw). Records whether its finally ran. */
export function fakeSource(opts: { frames: number; fail?: Error; gapMs?: number; hang?: boolean }) {
  const state = { opened: 0, closed: 0 };
  const open = (_spec: unknown, o: { signal?: AbortSignal }): AsyncGenerator<RawFrame> =>
    (async function* () {
      state.opened++;
      try {
        for (let i = 0; i < opts.frames; i++) {
          if (o.signal?.aborted) return;
          if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
          yield rawFrame(i);
        }
        if (opts.fail) throw opts.fail;
        if (opts.hang) await new Promise<void>((r) => o.signal?.addEventListener('abort', () => r(), { once: true }));
      } finally {
        state.closed++;
      }
    })();
  return { open, state };
}

/** A detector at the createSession seam: a face in every frame, or whatever `faces` says per call. */
export function fakeDetector(opts: { faces?: (call: number) => DetectedFace[]; delayMs?: number; failAt?: number } = {}) {
  const state = { sessions: 0, closed: 0, calls: 0 };
  const detector = {
    createSession: () => {
      state.sessions++;
      let closed = false;
      return {
        detect: async () => {
          // As the worker detector: a closed session cannot detect.
          if (closed) throw new Error('no detector session');
          const call = state.calls++;
          if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
          if (opts.failAt !== undefined && call >= opts.failAt) throw new Error('detector crashed');
          return { faces: opts.faces ? opts.faces(call) : [fakeFace()], ranDetector: true };
        },
        close: () => {
          closed = true;
          state.closed++;
        },
      };
    },
  };
  return { detector, state };
}

/** A 640×360 frame record of stream `cam` (no pixels: for stages that only read metadata). */
export function frameRecord(seq: number): FrameRecord {
  return { kind: 'frame', streamId: asStreamId('cam'), seq, pts: seq / 25, decodedAt: 0, wallTime: 0, sourceWidth: 640, sourceHeight: 360, image: { data: new Uint8Array(0), width: 640, height: 360 } };
}

/** A detected-and-aligned frame with `n` faces side by side. */
export function facesRecord(seq: number, n: number): FacesRecord<AlignedFace> {
  const list = Array.from({ length: n }, (_, i) => {
    const f = fakeFace(50 + i * 250, 60);
    return { ...f, alignment: computeAlignment(f.landmarks, 112) };
  });
  return { kind: 'faces', frame: frameRecord(seq), faces: list, detectMs: 1 };
}
