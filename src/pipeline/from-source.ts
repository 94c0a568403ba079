import { Observable } from 'rxjs';
import type { StreamId } from '../core/ids.js';
import type { FrameRecord } from '../core/records.js';
import type { RawFrame, SourceSpec } from '../streams/open-source.js';
import type { CreditGate } from './credit-gate.js';
import type { RecordSink } from './stream-record.js';

/**
 * Turns a pull-based frame generator into the pipeline's Observable. With a gate, the next frame
 * is only pulled once analysis has room (as-fast-as-possible files); without one, frames arrive
 * at the source's pace and the analysis queue drops the oldest (real-time sources).
 */
export function fromSource(
  open: (signal: AbortSignal) => AsyncGenerator<RawFrame>,
  opts: {
    readonly streamId: StreamId;
    readonly sourceKind: SourceSpec['kind'];
    readonly gate?: CreditGate;
    /** `running` with the first frame of a subscription, `decoded` for every frame. */
    readonly report?: RecordSink<'running' | 'decoded'>;
    /** Called once the generator has finished and released its native resources (a lifetime, not a record: it may come after unsubscribe). */
    readonly onReleased?: () => void;
  },
): Observable<FrameRecord> {
  return new Observable<FrameRecord>((subscriber) => {
    const abort = new AbortController();
    const frames = open(abort.signal);
    let running = false;
    void (async () => {
      try {
        for (;;) {
          if (opts.gate) await opts.gate.acquire();
          if (abort.signal.aborted) return;
          const next = await frames.next();
          if (next.done || abort.signal.aborted) {
            opts.gate?.release();
            break;
          }
          const raw = next.value;
          if (!running) {
            running = true;
            opts.report?.({ kind: 'running', sourceKind: opts.sourceKind, sourceWidth: raw.sourceWidth, sourceHeight: raw.sourceHeight });
          }
          opts.report?.({ kind: 'decoded', frameSeq: raw.index, decodeSeconds: raw.decodeSeconds });
          subscriber.next({
            kind: 'frame',
            streamId: opts.streamId,
            seq: raw.index,
            pts: raw.pts,
            decodedAt: performance.now(),
            wallTime: Date.now(),
            sourceWidth: raw.sourceWidth,
            sourceHeight: raw.sourceHeight,
            image: { data: raw.data, width: raw.width, height: raw.height },
          });
        }
        if (!abort.signal.aborted) subscriber.complete();
      } catch (err) {
        if (!abort.signal.aborted) subscriber.error(err);
      } finally {
        // Closing the generator runs its finally blocks: demuxer, decoder and filters are freed.
        await frames.return(undefined).catch(() => undefined);
        opts.onReleased?.();
      }
    })();
    // The gate's waiters are woken by whoever owns the gate (runStream), after this abort.
    return () => abort.abort();
  });
}
