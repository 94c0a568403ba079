import { Subject, lastValueFrom, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { FrameRecord } from '../core/records.js';
import { fakeDetector, fakeFace, frameRecord } from '../../test/helpers/fake-seams.js';
import { CreditGate } from './credit-gate.js';
import { detectFaces } from './detect-faces.js';
import type { StreamRecord } from './stream-record.js';

/** A frame the detector saw at half the source resolution. */
function halfFrame(seq: number): FrameRecord {
  const f = frameRecord(seq);
  return { ...f, image: { data: new Uint8Array(320 * 180 * 3), width: 320, height: 180 } };
}

describe('detectFaces', () => {
  it('reports faces in source-frame pixels, in order, one record per frame', async () => {
    const det = fakeDetector({ faces: () => [fakeFace(10, 20, 50)] });
    const session = det.detector.createSession();
    const seen: number[] = [];
    const out = await lastValueFrom(
      of(halfFrame(0), halfFrame(1), halfFrame(2)).pipe(detectFaces({ session, report: (r) => r.kind === 'analysed' && seen.push(r.frameSeq) }, { queueFrames: 4 }), toArray()),
    );
    expect(out.map((r) => r.frame.seq)).toEqual([0, 1, 2]);
    expect(seen).toEqual([0, 1, 2]);
    // The detector worked on a 320×180 image of a 640×360 source: everything doubles.
    expect(out[0]!.faces[0]!.box).toEqual([20, 40, 100, 100]);
    expect(out[0]!.faces[0]!.landmarks[0]).toEqual([(10 + 0.3 * 50) * 2, (20 + 0.35 * 50) * 2]);
  });

  it('drops the oldest waiting frame beyond queueFrames and says so', async () => {
    const det = fakeDetector({ delayMs: 20 });
    const src = new Subject<FrameRecord>();
    const records: StreamRecord[] = [];
    const done = lastValueFrom(src.pipe(detectFaces({ session: det.detector.createSession(), report: (r) => records.push(r) }, { queueFrames: 2 }), toArray()));
    for (let i = 0; i < 6; i++) src.next(halfFrame(i));
    src.complete();
    const out = await done;
    // 0 in flight, 1..5 arrive: 1, 2, 3 are pushed out by 3, 4, 5 → 4 and 5 wait.
    const dropped = { kind: 'dropped', stage: 'detect', count: 1 };
    expect(records.map((r) => (r.kind === 'analysed' ? r.frameSeq : r))).toEqual([dropped, dropped, dropped, 0, 4, 5]);
    expect(out.map((r) => r.frame.seq)).toEqual([0, 4, 5]);
  });

  it('unsubscribes its source on teardown and emits nothing after it', () => {
    const det = fakeDetector();
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-c-|', { a: halfFrame(0), b: halfFrame(1), c: halfFrame(2) });
      // Detection is asynchronous (a promise), so nothing can arrive in virtual time: only teardown is observable here.
      expectObservable(src.pipe(detectFaces({ session: det.detector.createSession() }, { queueFrames: 4 })), '^---!').toBe('');
      expectSubscriptions(src.subscriptions).toBe('^---!');
    });
  });

  it('returns the credit of every frame it held when torn down, and of none twice', async () => {
    const gate = new CreditGate(3);
    for (let i = 0; i < 3; i++) await gate.acquire();
    const det = fakeDetector({ delayMs: 30 });
    const src = new Subject<FrameRecord>();
    const records: StreamRecord[] = [];
    const sub = src.pipe(detectFaces({ session: det.detector.createSession(), gate, report: (r) => records.push(r) }, { queueFrames: 4 })).subscribe();
    for (let i = 0; i < 3; i++) src.next(halfFrame(i));
    sub.unsubscribe();
    expect(records).toEqual([0, 1, 2].map(() => ({ kind: 'dropped', stage: 'detect', count: 1 })));
    await new Promise((r) => setTimeout(r, 60));
    // Three credits back, exactly: a fourth acquire must wait.
    for (let i = 0; i < 3; i++) await gate.acquire();
    let fourth = false;
    void gate.acquire().then(() => (fourth = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(fourth).toBe(false);
  });
});
