import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { TrackId } from '../core/ids.js';
import type { TrackedRecord } from '../core/records.js';
import { facesRecord as faces } from '../../test/helpers/fake-seams.js';
import { toEvents } from './to-events.js';
import type { TrackOutput } from './track-faces.js';

const t = (n: number): TrackId => n as TrackId;

function tracked(seq: number, changes: TrackedRecord['tracks']): TrackedRecord {
  const rec = faces(seq, 1);
  return { ...rec, faces: rec.faces.map((f) => ({ ...f, trackId: t(1) })), tracks: changes };
}

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('toEvents', () => {
  it('puts track starts before the frame’s faces event and ends after it, and ends tracks at stream end', () => {
    const input: Record<string, TrackOutput> = {
      a: tracked(0, [{ trackId: t(1), state: 'started' }]),
      b: tracked(1, [
        { trackId: t(2), state: 'started' },
        { trackId: t(1), state: 'ended' },
      ]),
      c: { kind: 'tracks-closed', streamId: faces(0, 0).frame.streamId, frame: 1, wallTime: 0, tracks: [{ trackId: t(2), state: 'ended' }] },
    };
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a 9ms b 9ms c 9ms |', input);
      expectObservable(src.pipe(toEvents())).toBe('(xy) 6ms (uvw) 5ms z 9ms |', {
        x: expect.objectContaining({ type: 'track', state: 'started', trackId: 1, streamId: 'cam' }),
        y: expect.objectContaining({ type: 'faces', frame: 0, streamId: 'cam' }),
        u: expect.objectContaining({ type: 'track', state: 'started', trackId: 2 }),
        v: expect.objectContaining({ type: 'faces', frame: 1 }),
        w: expect.objectContaining({ type: 'track', state: 'ended', trackId: 1 }),
        z: expect.objectContaining({ type: 'track', state: 'ended', trackId: 2, frame: 1 }),
      });
      expectSubscriptions(src.subscriptions).toBe('^ 29ms !');
    });
  });

  it('rounds coordinates for the wire and keeps source-frame sizes', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const rec = tracked(3, []);
      const shifted: TrackedRecord = { ...rec, faces: rec.faces.map((f) => ({ ...f, box: [10.04, 20.06, 30.449, 40.451] as const, score: 0.98765 })) };
      expectObservable(cold('a|', { a: shifted }).pipe(toEvents())).toBe('a|', {
        a: expect.objectContaining({ type: 'faces', width: 640, height: 360, faces: [expect.objectContaining({ box: [10, 20.1, 30.4, 40.5], score: 0.988, trackId: 1 })] }),
      });
    });
  });

  it('unsubscribes its source on teardown', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a---a|', { a: tracked(0, []) });
      expectObservable(src.pipe(toEvents()), '^--!').toBe('a', { a: expect.objectContaining({ type: 'faces' }) });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });
});
