import type { AnalyticsEvent } from '../core/records.js';
import type { DecoderReport, SourceSpec } from '../streams/open-source.js';
import type { TrackOutput } from './track-faces.js';

/**
 * What one run of a stream reports, in order, instead of callbacks: each stage reports its own
 * (through a `RecordSink`), the run adds `started` and the events. Only `event` records are
 * meant for clients; the rest feed metrics, the stream's API view and its state events.
 */
export type StreamRecord =
  /** First, synchronously on subscribe: `released` resolves once source and session are freed. */
  | { readonly kind: 'started'; readonly released: Promise<void> }
  /** The first frame of this run arrived. */
  | { readonly kind: 'running'; readonly sourceKind: SourceSpec['kind']; readonly sourceWidth: number; readonly sourceHeight: number }
  /** At each open of the source: the decoder it uses (hardware or software, and why not the hardware asked for). */
  | { readonly kind: 'decoder'; readonly decoder: DecoderReport }
  | { readonly kind: 'decoded'; readonly frameSeq: number; readonly decodeSeconds: number }
  /** A packet that could not be decoded was skipped (the source fails after too many in a row). */
  | { readonly kind: 'decode-error'; readonly error: { readonly code: string; readonly message: string } }
  /** A frame decoded and left out by `analysisFps`. */
  | { readonly kind: 'skipped' }
  | { readonly kind: 'analysed'; readonly frameSeq: number; readonly faces: number; readonly detectMs: number }
  /** Work given up: frames over a queue's bound or still queued when the run failed, affect windows. */
  | { readonly kind: 'dropped'; readonly stage: 'detect' | 'affect-frame' | 'affect-window'; readonly count: number }
  | { readonly kind: 'reconnecting'; readonly attempt: number; readonly delayMs: number; readonly error: { readonly code: string; readonly message: string } }
  | { readonly kind: 'recovered'; readonly attempts: number }
  /** Live tracks now (0 after the last one ended). */
  | { readonly kind: 'tracks'; readonly active: number }
  /** A tracked frame with its image, for consumers that cut crops themselves (predict). */
  | { readonly kind: 'tracked'; readonly record: TrackOutput }
  | { readonly kind: 'event'; readonly event: AnalyticsEvent };

export type StreamRecordKind = StreamRecord['kind'];

/**
 * Where a stage reports its records: one function for every stage of a run, called synchronously
 * at the moment the stage knows (so records keep the order things happened in). A stage's type
 * names the kinds it may report (`RecordSink<'analysed' | 'dropped'>`); the run's own sink takes
 * them all.
 */
export type RecordSink<K extends StreamRecordKind = StreamRecordKind> = (record: StreamRecordOf[K]) => void;

/** Each record by its kind. */
type StreamRecordOf = { readonly [R in StreamRecord as R['kind']]: R };
