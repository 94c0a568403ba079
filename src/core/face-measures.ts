/** What the face models measure of a face beyond its box and landmarks (geometry of the mesh). */

/** Head pose in degrees, in the camera's frame (x right, y down, z away from the camera). */
export interface HeadPose {
  /** Positive when the face turns towards the image's right (the person's left). */
  readonly yaw: number;
  /** Positive when the face tilts up (chin forward). */
  readonly pitch: number;
  /** Angle of the line from the image-left eye to the image-right eye; positive when the head tilts clockwise in the image. */
  readonly roll: number;
}

/** Eye aspect ratio (Soukupová & Čech 2016) of the eye on the image's left and of the eye on its right. */
export interface EyeAspect {
  readonly left: number;
  readonly right: number;
}

export interface MeshMeasures {
  readonly pose: HeadPose;
  readonly eyes: EyeAspect;
}

/** Why a face is left out of affect analysis: the `quality` threshold it fails. */
export const GATE_REASONS = ['score', 'size', 'sharpness', 'yaw', 'pitch'] as const;
export type GateReason = (typeof GATE_REASONS)[number];

/** How far a face can be trusted, per face and frame (faces events, predict rows, gating). */
export interface FaceQuality {
  /** Detector (mesh presence) score in [0, 1]. */
  readonly score: number;
  /** Distance between the two eye centres, source-frame pixels. */
  readonly interocularPx: number;
  /** Variance of the Laplacian of the grey aligned crop, resampled to a fixed grid (grey levels²). */
  readonly sharpness: number;
  /** From the face mesh; absent from detectors without one. */
  readonly pose?: HeadPose;
  readonly eyes?: EyeAspect;
  /** The gating thresholds this face fails (empty: it is analysed). */
  readonly gated: readonly GateReason[];
}
