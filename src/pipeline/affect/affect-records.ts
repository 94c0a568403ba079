import type { TrackId } from '../../core/ids.js';
import type { AlignedFace, Alignment } from '../../core/records.js';
import type { EnsembleFrame, RgbFace } from '../../models/seed/index.js';
import type { FrameCache } from '../../models/seed/frame-cache.js';
import type { TrackOutput } from '../track-faces.js';
import type { AffectScores, FrameMeta } from './affect-events.js';
import type { WindowJob } from './track-windows.js';

/** What the affect stages need of a loaded model (QueuedAffectModel is one; tests pass fakes). */
export interface AffectModel {
  readonly id: string;
  readonly version: string;
  readonly kind: 'cnn' | 'cnn-rnn';
  readonly seqLen: number;
  readonly thresholds: readonly number[];
  cnn(face: RgbFace, streamId: string): Promise<FrameCache>;
  window(frames: readonly FrameCache[], streamId: string): Promise<EnsembleFrame[]>;
  decideCnn(cache: FrameCache): EnsembleFrame;
  /** The model's crop of a face (absent: the daemon's 112×112 alignment, the seed's crop). */
  cropOf?(face: AlignedFace): Alignment;
}

/** One tracked frame's face crops as the model takes them (the aligned 112×112 face for seed models) (none for a tracks-closed record). */
export interface CroppedRecord {
  readonly record: TrackOutput;
  readonly crops: readonly RgbFace[];
}

/** Per face, its CNN output (undefined when its request was shed under load). */
export interface FeaturesRecord {
  readonly record: TrackOutput;
  readonly caches: readonly (FrameCache | undefined)[];
}

/** A frame's cached features in a track's window ring. */
export interface Held {
  readonly cache: FrameCache;
  readonly meta: FrameMeta;
}

export interface Decided {
  readonly meta: FrameMeta;
  readonly scores: AffectScores;
}

/** Decisions taken already (CNN models), GRU windows still to run, tracks whose state can go. */
export interface WindowsRecord {
  readonly decided: readonly Decided[];
  readonly jobs: readonly WindowJob<Held>[];
  readonly forget: readonly TrackId[];
}

/** Decisions in frame order, then the tracks that ended with them. */
export interface DecidedRecord {
  readonly decided: readonly Decided[];
  readonly forget: readonly TrackId[];
}
