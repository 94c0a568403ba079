import type { z } from 'zod';
import type { affectEventSchema, blinkEventSchema, facesEventSchema, markerEventSchema, streamEventSchema, trackEventSchema } from './event-schemas.js';
import type { FaceQuality, MeshMeasures } from './face-measures.js';
import type { StreamId, TrackId } from './ids.js';

export type Point = readonly [number, number];
export type Box = readonly [number, number, number, number];
export type FiveLandmarks = readonly [Point, Point, Point, Point, Point];

/** A decoded frame, converted by FFmpeg to packed RGB24 at the analysis resolution. */
export interface FrameRecord {
  readonly kind: 'frame';
  readonly streamId: StreamId;
  /** Decoded-frame counter from 0 (counts frames dropped before analysis too). */
  readonly seq: number;
  /** Stream time in seconds. */
  readonly pts: number;
  /** performance.now() when the frame left the decoder. */
  readonly decodedAt: number;
  /** Wall clock (ms since epoch) when the frame left the decoder. */
  readonly wallTime: number;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** RGB24 pixels, width × height × 3, owned by whoever holds the record. */
  readonly image: { readonly data: Uint8Array; readonly width: number; readonly height: number };
}

/** A face in source-frame pixels. */
export interface FaceObservation {
  readonly box: Box;
  readonly score: number;
  readonly landmarks: FiveLandmarks;
  /** Head pose and eye aspect ratios from the face mesh (absent from detectors without one). */
  readonly mesh?: MeshMeasures;
}

/** Seed §7.1 alignment: a similarity transform from the aligned crop to source pixels. */
export interface Alignment {
  /** 2×3 row-major affine [a, b, tx, c, d, ty]: source = M · [u, v, 1] for crop pixel (u, v). */
  readonly cropToSource: readonly [number, number, number, number, number, number];
  readonly size: number;
  /** Eye-line angle in degrees (positive = counter-clockwise tilt in image coordinates). */
  readonly angleDeg: number;
}

export interface AlignedFace extends FaceObservation {
  readonly alignment: Alignment;
  /** Score, size, sharpness, pose and eyes (set by the pipeline's assess stage). */
  readonly quality?: FaceQuality;
}

export interface TrackedFace extends AlignedFace {
  readonly trackId: TrackId;
}

export interface FacesRecord<F extends FaceObservation = FaceObservation> {
  readonly kind: 'faces';
  readonly frame: FrameRecord;
  readonly faces: readonly F[];
  readonly detectMs: number;
}

export interface TrackChange {
  readonly trackId: TrackId;
  readonly state: 'started' | 'ended';
}

export interface TrackedRecord extends FacesRecord<TrackedFace> {
  readonly tracks: readonly TrackChange[];
}

/**
 * The published events: their types are inferred from the zod schemas of event-schemas.ts, the
 * same source as the JSON Schemas in docs/api/events/, so the two cannot differ.
 */
export type StreamEvent = z.infer<typeof streamEventSchema>;
export type FacesEvent = z.infer<typeof facesEventSchema>;
export type TrackEvent = z.infer<typeof trackEventSchema>;
export type AffectEvent = z.infer<typeof affectEventSchema>;
export type BlinkEvent = z.infer<typeof blinkEventSchema>;
export type MarkerEvent = z.infer<typeof markerEventSchema>;

/** `removed` is published once, when a stream is deleted; it never shows in the API or metrics. */
export type StreamState = StreamEvent['state'];

export type AnalyticsEvent = StreamEvent | FacesEvent | TrackEvent | AffectEvent | BlinkEvent | MarkerEvent;
export type EventType = AnalyticsEvent['type'];
export const EVENT_TYPES: readonly EventType[] = ['stream', 'faces', 'track', 'affect', 'blink', 'marker'];
