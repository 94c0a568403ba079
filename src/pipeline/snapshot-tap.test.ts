import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { asStreamId, type TrackId } from '../core/ids.js';
import type { TrackedRecord } from '../core/records.js';
import { snapshotTap, type SnapshotFrame } from './snapshot-tap.js';
import type { TrackOutput } from './track-faces.js';

const rec = (seq: number): TrackedRecord => ({
  kind: 'faces',
  frame: { kind: 'frame', streamId: asStreamId('s'), seq, pts: seq / 25, decodedAt: 0, wallTime: 0, sourceWidth: 4, sourceHeight: 2, image: { data: new Uint8Array(24).fill(seq), width: 4, height: 2 } },
  faces: [{ trackId: 7 as TrackId, box: [1, 0, 2, 2], score: 1, landmarks: [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]], alignment: { cropToSource: [1, 0, 0, 0, 1, 0], size: 112, angleDeg: 0 } }],
  tracks: [],
  detectMs: 1,
});

describe('snapshotTap', () => {
  it('copies a frame only when the sink wants one, passes every record on unchanged', async () => {
    const got: SnapshotFrame[] = [];
    let clock = 0;
    const sink = { due: (t: number) => got.length === 0 || t - 100 >= 0, put: (f: SnapshotFrame) => void got.push(f) };
    const records: TrackOutput[] = [rec(0), rec(1), rec(2), { kind: 'tracks-closed', streamId: asStreamId('s'), frame: 2, wallTime: 0, tracks: [] }];
    const now = (): number => (clock += 40);
    const out = await lastValueFrom(from(records).pipe(snapshotTap(sink, now), toArray()));
    expect(out).toEqual(records);
    // Frame 0 (first), then the clock passes 100 at frame 2.
    expect(got.map((f) => f.seq)).toEqual([0, 2]);
    expect(got[1]!.faces).toEqual([{ trackId: 7, box: [1, 0, 2, 2] }]);
    // A copy: the pipeline's buffer may be reused or handed on.
    (records[2] as TrackedRecord).frame.image.data.fill(99);
    expect(got[1]!.image.data[0]).toBe(2);
  });
});
