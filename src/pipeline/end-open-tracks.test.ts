import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { asStreamId, type TrackId } from '../core/ids.js';
import type { AnalyticsEvent, TrackEvent } from '../core/records.js';
import { endOpenTracks } from './end-open-tracks.js';

const S = asStreamId('s1');
const track = (trackId: number, state: 'started' | 'ended', frame: number): TrackEvent => ({ type: 'track', streamId: S, trackId: trackId as TrackId, state, frame, ts: 'then' });
const input: Record<string, AnalyticsEvent> = { a: track(1, 'started', 0), b: track(2, 'started', 1), c: track(1, 'ended', 2) };

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('endOpenTracks', () => {
  it('passes events on as records and, at completion, ends the tracks still open before completing', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-c-|', input);
      expectObservable(src.pipe(endOpenTracks(S))).toBe('a-b-c-(de|)', {
        a: { kind: 'event', event: input.a },
        b: { kind: 'event', event: input.b },
        c: { kind: 'event', event: input.c },
        d: { kind: 'event', event: expect.objectContaining({ type: 'track', trackId: 2, state: 'ended', frame: 2 }) },
        e: { kind: 'tracks', active: 0 },
      });
      expectSubscriptions(src.subscriptions).toBe('^-----!');
    });
  });

  it('ends the open tracks before a failure travels on', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-#', input, new Error('detector crashed'));
      expectObservable(src.pipe(endOpenTracks(S))).toBe(
        'a-b-(cde#)',
        {
          a: { kind: 'event', event: input.a },
          b: { kind: 'event', event: input.b },
          c: { kind: 'event', event: expect.objectContaining({ trackId: 1, state: 'ended' }) },
          d: { kind: 'event', event: expect.objectContaining({ trackId: 2, state: 'ended' }) },
          e: { kind: 'tracks', active: 0 },
        },
        new Error('detector crashed'),
      );
      expectSubscriptions(src.subscriptions).toBe('^---!');
    });
  });

  it('adds nothing when no track is open, and nothing after unsubscribe (the consumer ends what it was told)', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const closed = cold('a-c-|', input);
      expectObservable(closed.pipe(endOpenTracks(S))).toBe('a-c-|', { a: { kind: 'event', event: input.a }, c: { kind: 'event', event: input.c } });
      const open = cold('a-b-c-|', input);
      // Tracks 1 and 2 are open when the consumer leaves: no `ended` follows.
      expectObservable(open.pipe(endOpenTracks(S)), '^--!').toBe('a-b', { a: { kind: 'event', event: input.a }, b: { kind: 'event', event: input.b } });
      expectSubscriptions(open.subscriptions).toBe('^--!');
    });
  });
});
