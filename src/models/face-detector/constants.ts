import path from 'node:path';
import { packageDir } from '../io/package-dir.js';

/** Pretrained MediaPipe-derived models shipped by @vladmandic/human (MIT); loaded from disk, never fetched. */
export function humanModelPath(file: string): string {
  return path.join(packageDir('@vladmandic/human'), 'models', file);
}

export const BLAZEFACE_INPUT = 256;
export const FACEMESH_INPUT = 192;
/** Blazeface box → mesh crop: MediaPipe enlarges the detector box before running the mesh. */
export const MESH_CROP_SCALE = 1.5;

/** FaceMesh indices (MediaPipe canonical mesh) for the seed's five alignment points. */
export const MESH_INDEX = {
  imageLeftEyeOuter: 33,
  imageLeftEyeInner: 133,
  imageRightEyeInner: 362,
  imageRightEyeOuter: 263,
  noseTip: 1,
  imageLeftMouth: 61,
  imageRightMouth: 291,
} as const;

export interface FaceDetectorOptions {
  /** Minimum blazeface score for a new face. */
  readonly minScore: number;
  /** Minimum mesh face-presence score to keep a face. */
  readonly minMeshScore: number;
  readonly iouThreshold: number;
  readonly maxFaces: number;
  /** Run the (expensive) detector every N frames; in between, faces are followed by the mesh. */
  readonly detectEveryFrames: number;
  /** Faces smaller than this (pixels, box side) are ignored. */
  readonly minFaceSize: number;
}

export const DEFAULT_DETECTOR_OPTIONS: FaceDetectorOptions = {
  minScore: 0.5,
  minMeshScore: 0.5,
  iouThreshold: 0.3,
  maxFaces: 10,
  detectEveryFrames: 3,
  minFaceSize: 16,
};
