import { map, type OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { TrackId } from '../../core/ids.js';
import { slidingWindows, type SlidingWindowsInput, type TrackEnded, type TrackFrame } from './sliding-windows.js';
import type { WindowJob } from './track-windows.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const fr = (track: number, frame: number): TrackFrame<string> => ({
  trackId: track as TrackId,
  frame,
  pts: frame / 10,
  features: `t${track}f${frame}`,
});
const ended = (track: number): TrackEnded => ({ kind: 'track-ended', trackId: track as TrackId });

/** A job as "track:feature,feature,…|emit positions", to keep the marbles readable. */
const show = (j: WindowJob<string>): string =>
  `${j.trackId}:${j.frames.map((f) => f.features).join(',')}|${j.emit.join(',')}${j.final ? '!' : ''}`;

describe('slidingWindows', () => {
  it('has the stage signature the pipeline composes', () => {
    expectTypeOf(slidingWindows<Float32Array>({ seqLen: 32, stride: 8, maxTracks: 16 })).toEqualTypeOf<
      OperatorFunction<SlidingWindowsInput<Float32Array>, WindowJob<Float32Array>>
    >();
  });

  it('windows interleaved tracks without mixing them, in arrival order', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      // seqLen 2, stride 1: a window per frame once a track has 2 frames.
      const src = hot<SlidingWindowsInput<string>>('-a-b-c-d-e-|', {
        a: fr(1, 0),
        b: fr(2, 0),
        c: fr(1, 1),
        d: fr(2, 1),
        e: fr(1, 2),
      });
      const out = src.pipe(slidingWindows({ seqLen: 2, stride: 1, maxTracks: 4 }), map(show));
      expectObservable(out).toBe('-----x-y-z-|', {
        x: '1:t1f0,t1f1|0,1',
        y: '2:t2f0,t2f1|0,1',
        z: '1:t1f1,t1f2|1',
      });
      expectSubscriptions(src.subscriptions).toBe('^----------!');
    });
  });

  it('flushes a track on track-ended (padded) and the rest on completion', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot<SlidingWindowsInput<string>>('-a-b-c-E-d-|', {
        a: fr(1, 0),
        b: fr(2, 0),
        c: fr(1, 1),
        E: ended(1),
        d: fr(2, 1),
      });
      const out = src.pipe(slidingWindows({ seqLen: 3, stride: 3, maxTracks: 4 }), map(show));
      expectObservable(out).toBe('-------x---(y|)', {
        x: '1:t1f0,t1f1,t1f1|0,1!',
        y: '2:t2f0,t2f1,t2f1|0,1!',
      });
      expectSubscriptions(src.subscriptions).toBe('^----------!');
    });
  });

  it('a track-ended for an unknown or already flushed track emits nothing', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<SlidingWindowsInput<string>>('-a-b-E-E-F|', { a: fr(1, 0), b: fr(1, 1), E: ended(1), F: ended(9) });
      expectObservable(src.pipe(slidingWindows({ seqLen: 2, stride: 2, maxTracks: 1 }), map(show))).toBe('---x------|', {
        x: '1:t1f0,t1f1|0,1',
      });
    });
  });

  it('unsubscribing tears the source down and flushes nothing', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot<SlidingWindowsInput<string>>('-a-b-c-d-|', { a: fr(1, 0), b: fr(1, 1), c: fr(1, 2), d: fr(1, 3) });
      const out = src.pipe(slidingWindows({ seqLen: 2, stride: 2, maxTracks: 1 }), map(show));
      expectObservable(out, '^----!').toBe('---x-', { x: '1:t1f0,t1f1|0,1' });
      expectSubscriptions(src.subscriptions).toBe('^----!');
    });
  });

  it('forwards a source error without flushing', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot<SlidingWindowsInput<string>>('-a-#', { a: fr(1, 0) });
      expectObservable(src.pipe(slidingWindows({ seqLen: 2, stride: 2, maxTracks: 1 }), map(show))).toBe('---#');
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('errors on an out-of-order frame and unsubscribes from the source', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot<SlidingWindowsInput<string>>('-a-b-c', { a: fr(1, 5), b: fr(1, 4), c: fr(1, 6) });
      const out = src.pipe(slidingWindows({ seqLen: 2, stride: 2, maxTracks: 1 }), map(show));
      expectObservable(out).toBe('---#', undefined, new RangeError('track 1: frame 4 after frame 5'));
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('keeps separate rings per subscription', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<SlidingWindowsInput<string>>('-a-b|', { a: fr(1, 0), b: fr(1, 1) });
      const out = src.pipe(slidingWindows({ seqLen: 2, stride: 2, maxTracks: 1 }), map(show));
      expectObservable(out).toBe('---x|', { x: '1:t1f0,t1f1|0,1' });
      expectObservable(out).toBe('---x|', { x: '1:t1f0,t1f1|0,1' });
    });
  });

  it('reports frames of tracks beyond maxTracks to onDrop', () => {
    const dropped: number[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold<SlidingWindowsInput<string>>('-a-b-c|', { a: fr(1, 0), b: fr(2, 0), c: fr(1, 1) });
      const out = src.pipe(slidingWindows({ seqLen: 2, stride: 2, maxTracks: 1, onDrop: (id) => dropped.push(id) }), map(show));
      expectObservable(out).toBe('-----x|', { x: '1:t1f0,t1f1|0,1' });
    });
    expect(dropped).toEqual([2]);
  });
});
