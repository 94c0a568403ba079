import type { StreamId } from '../core/ids.js';
import type { FaceDetectorHost } from '../models/face-detector/face-detector-host.js';
import type { ReconnectPolicy, VideoSourceOptions } from '../streams/open-source.js';
import type { AnalyseAffectOptions } from './affect/analyse-affect.js';
import type { FaceTrackerOptions } from './face-tracker.js';
import type { QualityGate } from './quality/gate.js';

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
  /** Faces failing these thresholds are kept out of affect analysis (absent: none is gated). */
  readonly quality?: QualityGate;
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
  Omit<RunSourceOptions, 'realtime' | 'loop' | 'maxWidth' | 'signal' | 'rtspTransport' | 'rtspTimeoutMs' | 'sampleFps' | 'onSkipped' | 'fileRoots' | 'onDecodeError' | 'onDecoder'>
>;
