import { Observable } from 'rxjs';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import type { StreamId } from '../core/ids.js';
import type { AffectEngine } from '../models/affect/affect-engine.js';
import type { FaceDetectorHost } from '../models/face-detector/face-detector-host.js';
import {
  openSource as openRealSource,
  reconnecting,
  scrubCredentials,
  type RawFrame,
  type ReconnectPolicy,
  type SourceSpec,
  type VideoSourceOptions,
} from '../streams/open-source.js';
import type { AnalyseAffectOptions } from './affect/analyse-affect.js';
import { buildPipeline } from './build-pipeline.js';
import { CreditGate } from './credit-gate.js';
import type { FaceTrackerOptions } from './face-tracker.js';
import { fromSource } from './from-source.js';
import { OpenTracks } from './open-tracks.js';
import type { StreamRecord } from './stream-record.js';

export type { StreamRecord } from './stream-record.js';

/** Everything one run of one stream needs to know, already resolved from config and request. */
export interface RunSettings {
  readonly streamId: StreamId;
  readonly realtime: boolean;
  readonly loop: boolean;
  /** FFmpeg scales frames down to at most this width. */
  readonly maxWidth: number;
  /** Frames analysed per second of stream time; undefined = every frame. */
  readonly analysisFps?: number;
  /** Frames waiting for the detector. */
  readonly queueFrames: number;
  readonly alignSize: number;
  readonly tracker: FaceTrackerOptions;
  readonly detector: Parameters<FaceDetectorHost['createSession']>[0];
  readonly rtsp?: {
    readonly transport: 'tcp' | 'udp';
    readonly timeoutMs: number;
    readonly reconnect: ReconnectPolicy;
  };
  /** File sources must stay under these directories, checked by the source at every open. */
  readonly fileRoots?: readonly string[];
  /** Further source options (media limits and the like), handed to `openSource` as they are. */
  readonly source?: SourceExtras;
  /** With `deps.engine`: the live affect stage's options. */
  readonly affect?: AnalyseAffectOptions;
}

/** The source options a run hands to `openSource` (fileRoots, onDecodeError: honoured by sources that know them). */
export type RunSourceOptions = VideoSourceOptions & {
  readonly fileRoots?: readonly string[];
  /** A packet that could not be decoded was skipped. */
  readonly onDecodeError?: (err: Error) => void;
};

/** The source options that are not the run's own business (set per daemon or per stream). */
export type SourceExtras = Partial<
  Omit<RunSourceOptions, 'realtime' | 'loop' | 'maxWidth' | 'signal' | 'rtspTransport' | 'rtspTimeoutMs' | 'sampleFps' | 'onSkipped' | 'fileRoots' | 'onDecodeError'>
>;

export interface RunDeps {
  readonly detector: Pick<FaceDetectorHost, 'createSession'>;
  /** Present when a model is loaded: the run then publishes affect events. */
  readonly engine?: AffectEngine;
  /** The seam unit tests replace; the real FFmpeg sources otherwise. */
  readonly openSource?: (spec: SourceSpec, opts: RunSourceOptions) => AsyncGenerator<RawFrame>;
}

/**
 * One stream from source to events, as one Observable: it owns the source and its reconnects,
 * the detector session, the credit gate and the pipeline, and reports everything a supervisor,
 * a benchmark or `predict` wants to know as typed records instead of callbacks.
 *
 * Contract:
 * - The first record (synchronously on subscribe) is `started`, carrying `released`: it resolves
 *   once this subscription's source has freed its native resources and its detector session is
 *   closed, on every path (complete, error, unsubscribe).
 * - Unsubscribing is the only way to stop a run; it stops decoding at once.
 * - A fatal failure is the error channel, as thrown (a source error may quote the URL: whoever
 *   shows it scrubs it); before it (and before completion) every open track gets its `ended`
 *   event, the active-track count goes back to 0, and frames given up are reported as `dropped`.
 *   On unsubscribe nothing more is emitted: the consumer ends the tracks it was told about.
 */
export function runStream(spec: SourceSpec, settings: RunSettings, deps: RunDeps): Observable<StreamRecord> {
  return new Observable<StreamRecord>((subscriber) => {
    const emit = (record: StreamRecord): void => {
      if (!subscriber.closed) subscriber.next(record);
    };
    let sourceReleased!: () => void;
    const sourceDone = new Promise<void>((r) => (sourceReleased = r));
    const session = deps.detector.createSession(settings.detector);
    let sessionClosed = false;
    const closeSession = (): void => {
      if (sessionClosed) return;
      sessionClosed = true;
      session.close?.();
    };
    // The session outlives the source (frames still queued for detection need it): it closes
    // when the pipeline is done (completed, failed or unsubscribed).
    let finishPipeline!: () => void;
    const pipelineDone = new Promise<void>((r) => (finishPipeline = r));
    const pipelineFinished = (): void => {
      closeSession();
      finishPipeline();
    };
    const released = Promise.all([sourceDone, pipelineDone]).then(() => undefined);
    emit({ kind: 'started', released });

    const { streamId } = settings;
    const open = deps.openSource ?? openRealSource;
    // A camera or a paced file cannot wait for us: drop the oldest. A fast file can: back-pressure.
    const gate = settings.realtime || spec.kind !== 'file' ? undefined : new CreditGate(settings.queueFrames + 1);
    const sourceOpts: RunSourceOptions = {
      ...settings.source,
      realtime: settings.realtime,
      loop: settings.loop,
      maxWidth: settings.maxWidth,
      ...(settings.fileRoots ? { fileRoots: settings.fileRoots } : {}),
      onDecodeError: (err) => emit({ kind: 'decode-error', error: { code: errorCode(err), message: scrubCredentials(err.message) } }),
      ...(settings.rtsp ? { rtspTransport: settings.rtsp.transport, rtspTimeoutMs: settings.rtsp.timeoutMs } : {}),
      ...(settings.analysisFps !== undefined ? { sampleFps: settings.analysisFps, onSkipped: () => emit({ kind: 'skipped' }) } : {}),
    };
    const rtsp = settings.rtsp;
    // Cameras come and go: a live source reconnects with backoff; files fail (or end) for good.
    const frames = (signal: AbortSignal): AsyncGenerator<RawFrame> =>
      spec.kind === 'rtsp' && rtsp
        ? reconnecting(
            (s) => open(spec, { ...sourceOpts, signal: s }),
            rtsp.reconnect,
            {
              onReconnecting: ({ attempt, delayMs, error }) =>
                emit({ kind: 'reconnecting', attempt, delayMs, error: { code: error.code, message: scrubCredentials(error.message) } }),
              onRecovered: ({ attempts }) => emit({ kind: 'recovered', attempts }),
            },
            { signal },
          )
        : open(spec, { ...sourceOpts, signal });

    let running = false;
    const frames$ = fromSource(frames, {
      streamId,
      ...(gate ? { gate } : {}),
      onReleased: () => sourceReleased(),
      onDecoded: (raw) => {
        if (!running) {
          running = true;
          emit({ kind: 'running', sourceKind: spec.kind, sourceWidth: raw.sourceWidth, sourceHeight: raw.sourceHeight });
        }
        emit({ kind: 'decoded', frameSeq: raw.index, decodeSeconds: raw.decodeSeconds });
      },
    });
    const engine = deps.engine;
    const tracks = new OpenTracks(streamId);
    const events$ = buildPipeline(
      frames$,
      {
        session,
        ...(gate ? { gate } : {}),
        onDetected: (rec) => emit({ kind: 'analysed', frameSeq: rec.frame.seq, faces: rec.faces.length, detectMs: rec.detectMs }),
        onDrop: () => emit({ kind: 'dropped', stage: 'detect', count: 1 }),
      },
      {
        queueFrames: settings.queueFrames,
        alignSize: settings.alignSize,
        tracker: settings.tracker,
        onActiveTracks: (active) => emit({ kind: 'tracks', active }),
        onTracked: (record) => emit({ kind: 'tracked', record }),
        ...(engine && settings.affect
          ? {
              affect: {
                deps: {
                  engine,
                  streamId,
                  onDropped: (what: 'frame' | 'window', count: number) => emit({ kind: 'dropped', stage: what === 'frame' ? 'affect-frame' : 'affect-window', count }),
                },
                options: settings.affect,
              },
            }
          : {}),
      },
    );
    /** Ends whatever tracks a failing stage left open (the tracker itself ends its own on error). */
    const endOpenTracks = (): void => {
      if (tracks.size === 0) return;
      for (const event of tracks.closeAll()) emit({ kind: 'event', event });
      emit({ kind: 'tracks', active: 0 });
    };
    const sub = events$.subscribe({
      next: (event) => {
        tracks.observe(event);
        emit({ kind: 'event', event });
      },
      error: (err: unknown) => {
        endOpenTracks();
        pipelineFinished();
        subscriber.error(err);
      },
      complete: () => {
        endOpenTracks();
        pipelineFinished();
        subscriber.complete();
      },
    });
    return () => {
      sub.unsubscribe();
      // Frames still queued for detection are gone with the pipeline.
      pipelineFinished();
      // A pump blocked on credit must wake to see the abort and close its source.
      gate?.releaseAll();
    };
  });
}

const errorCode = (err: Error): string => (err instanceof AnalyticsError ? err.code : ErrorCodes.DECODE);
