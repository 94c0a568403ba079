import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { facesRecord as faces } from '../../test/helpers/fake-seams.js';
import { trackFaces, type TrackOutput } from './track-faces.js';

/** The changes each output carries, compactly: `s1` started 1, `e2` ended 2, `closed:e1` at stream end. */
function summary(out: TrackOutput): string {
  if (out.kind === 'tracks-closed') return `closed:${out.tracks.map((t) => `e${t.trackId}`).join(',')}`;
  return out.tracks.map((t) => `${t.state[0]}${t.trackId}`).join(',') || '-';
}

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const input = { a: faces(0, 1), b: faces(1, 2), c: faces(2, 1) };

describe('trackFaces', () => {
  it('starts and ends tracks, and ends the live ones when the stream completes', () => {
    const active: number[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-c-|', input);
      const out = src.pipe(trackFaces({ iouThreshold: 0.2, maxGapFrames: 0, report: (r) => active.push(r.active) }), map(summary));
      expectObservable(out).toBe('a-b-c-(d|)', { a: 's1', b: 's2', c: 'e2', d: 'closed:e1' });
      expectSubscriptions(src.subscriptions).toBe('^-----!');
    });
    expect(active).toEqual([1, 2, 1, 0]);
  });

  it('ends every live track before a failure travels on', () => {
    const active: number[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-#', input, new Error('source failed'));
      const out = src.pipe(trackFaces({ iouThreshold: 0.2, maxGapFrames: 10, report: (r) => active.push(r.active) }), map(summary));
      expectObservable(out).toBe('a-b-(c#)', { a: 's1', b: 's2', c: 'closed:e1,e2' }, new Error('source failed'));
      expectSubscriptions(src.subscriptions).toBe('^---!');
    });
    expect(active.at(-1)).toBe(0);
  });

  it('unsubscribes its source on teardown and brings the active count back to 0', () => {
    const active: number[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-c-|', input);
      const out = src.pipe(trackFaces({ iouThreshold: 0.2, maxGapFrames: 10, report: (r) => active.push(r.active) }), map(summary));
      expectObservable(out, '^--!').toBe('a-b', { a: 's1', b: 's2' });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
    expect(active).toEqual([1, 2, 0]);
  });
});
