import { from, lastValueFrom, mergeAll, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { FaceQuality } from '../../core/face-measures.js';
import type { StreamId, TrackId } from '../../core/ids.js';
import type { TrackedRecord } from '../../core/records.js';
import { AU_LABELS } from '../../models/seed/index.js';
import { decideFrame } from '../../models/seed/decode.js';
import type { FrameCache } from '../../models/seed/frame-cache.js';
import type { AffectModel } from '../affect/affect-records.js';
import { analyseAffect } from '../affect/analyse-affect.js';
import { gateReasons, resolveGate } from './gate.js';

const base: Omit<FaceQuality, 'gated'> = { score: 0.9, interocularPx: 30, sharpness: 100, pose: { yaw: 10, pitch: -5, roll: 2 } };

describe('gateReasons', () => {
  it('is empty with every threshold off, and names each threshold a face fails, in order', () => {
    expect(gateReasons(base, {})).toEqual([]);
    expect(gateReasons(base, { minScore: 0.95, minFacePx: 31, minSharpness: 101, maxAbsYawDeg: 9.9, maxAbsPitchDeg: 4.9 })).toEqual(['score', 'size', 'sharpness', 'yaw', 'pitch']);
    expect(gateReasons(base, { minScore: 0.9, minFacePx: 30, minSharpness: 100, maxAbsYawDeg: 10, maxAbsPitchDeg: 5 })).toEqual([]);
    expect(gateReasons({ ...base, pose: { yaw: -12, pitch: 0, roll: 0 } }, { maxAbsYawDeg: 11 })).toEqual(['yaw']);
  });

  it('passes pose limits when there is no pose to judge', () => {
    const { pose: _, ...noPose } = base;
    expect(gateReasons(noPose, { maxAbsYawDeg: 1, maxAbsPitchDeg: 1 })).toEqual([]);
  });
});

describe('resolveGate', () => {
  it("takes a stream's keys over the daemon's, null turning one off", () => {
    const daemon = { minScore: 0.5, minFacePx: 20, minSharpness: null, maxAbsYawDeg: 30, maxAbsPitchDeg: null };
    expect(resolveGate(daemon)).toEqual({ minScore: 0.5, minFacePx: 20, maxAbsYawDeg: 30 });
    expect(resolveGate(daemon, { minFacePx: 40, maxAbsYawDeg: null, minSharpness: 50 })).toEqual({ minScore: 0.5, minFacePx: 40, minSharpness: 50 });
  });
});

describe('gated faces in the affect stage', () => {
  const thresholds = AU_LABELS.map(() => 0.5);
  function record(seq: number, faces: { trackId: number; gated: FaceQuality['gated'] }[], ended: number[] = []): TrackedRecord {
    const frame = { kind: 'frame', streamId: 's' as StreamId, seq, pts: seq / 10, decodedAt: 0, wallTime: 0, sourceWidth: 8, sourceHeight: 8, image: { data: new Uint8Array(8 * 8 * 3), width: 8, height: 8 } } as const;
    const alignment = { cropToSource: [0.05, 0, 1, 0, 0.05, 1], size: 112, angleDeg: 0 } as const;
    return {
      kind: 'faces',
      frame,
      detectMs: 0,
      faces: faces.map((f) => ({
        box: [0, 0, 4, 4],
        score: 1,
        landmarks: [[1, 1], [3, 1], [2, 2], [1, 3], [3, 3]],
        alignment,
        trackId: f.trackId as TrackId,
        quality: { ...base, gated: f.gated },
      })),
      tracks: ended.map((trackId) => ({ trackId: trackId as TrackId, state: 'ended' as const })),
    };
  }

  /** A CNN-RNN model that counts the faces and windows it is given (the seam the stage calls). */
  function countingModel() {
    const seen = { cnn: 0, windowFrames: [] as number[] };
    const cache = (): FrameCache => {
      const z = (n: number): Float32Array => new Float32Array(n);
      return [{ features: { EXPR: z(4), AU: z(4), VA: z(4) }, logits: { EXPR: z(8), AU: z(AU_LABELS.length), VA: z(2) } }];
    };
    const decision = () => ({
      ...decideFrame(new Float64Array(AU_LABELS.length), new Float64Array([1, 0, 0, 0, 0, 0, 0, 0]), { valence: 0, arousal: 0 }, thresholds),
      uncertainty: { members: 1, expr: { entropy: 0, margin: 1 } },
    });
    const model: AffectModel = {
      id: 'm',
      version: '1',
      kind: 'cnn-rnn',
      seqLen: 2,
      thresholds,
      cnn: async () => {
        seen.cnn++;
        return cache();
      },
      window: async (frames) => {
        seen.windowFrames.push(frames.length);
        return frames.map(decision);
      },
      decideCnn: decision,
    };
    return { model, seen };
  }

  it('never crops, runs or windows a gated face, and publishes no affect event for it', async () => {
    const { model, seen } = countingModel();
    const records = [
      record(0, [{ trackId: 1, gated: [] }, { trackId: 2, gated: ['size'] }]),
      record(1, [{ trackId: 1, gated: ['sharpness', 'yaw'] }, { trackId: 2, gated: ['size'] }]),
      record(2, [{ trackId: 1, gated: [] }, { trackId: 2, gated: [] }]),
      record(3, [{ trackId: 1, gated: [] }, { trackId: 2, gated: [] }], [1, 2]),
    ];
    const events = await lastValueFrom(
      from(records).pipe(analyseAffect({ model, streamId: 's' }, { stride: 2, smoothing: 'ema', queueFrames: 8, maxTracks: 4 }), mergeAll(), toArray()),
    );
    // Ungated faces: track 1 at frames 0, 2, 3; track 2 at 2, 3.
    expect(seen.cnn).toBe(5);
    expect(events.map((e) => `${e.trackId}@${e.frame}`).sort()).toEqual(['1@0', '1@2', '1@3', '2@2', '2@3']);
  });
});
