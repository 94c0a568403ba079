import type { MeshMeasures } from '../../core/face-measures.js';

export type Point = readonly [number, number];
/** [x, y, width, height] in pixels of the image the detector saw. */
export type Box = readonly [number, number, number, number];

/**
 * Five landmarks in image order: the eye on the image's left, the eye on the image's right,
 * nose tip, mouth corner on the image's left, mouth corner on the image's right (MTCNN order,
 * which the seed's alignment uses).
 */
export type FiveLandmarks = readonly [Point, Point, Point, Point, Point];

export interface DetectedFace {
  readonly box: Box;
  readonly score: number;
  readonly landmarks: FiveLandmarks;
  /** Head pose and eye aspect ratios from the mesh (absent from detectors without one). */
  readonly mesh?: MeshMeasures;
}

/** A packed RGB24 image; the detector only reads it. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}
