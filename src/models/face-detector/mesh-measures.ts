/**
 * Geometric measures of one FaceMesh result (MediaPipe canonical mesh, 468 points [x, y, z] with
 * x right, y down and z away from the camera, all in the same pixel units): head pose from the
 * face's own axes and the eye aspect ratio of each eye. Geometry, not trained detectors: no model
 * here was fitted to pose or eye-closure labels.
 */

import type { EyeAspect, HeadPose, MeshMeasures } from '../../core/face-measures.js';

export type { EyeAspect, HeadPose, MeshMeasures };

/**
 * Eye contours as the six EAR points [corner, upper, upper, corner, lower, lower] (MediaPipe mesh
 * indices): p1–p4 the corners, (p2, p6) and (p3, p5) the vertical pairs.
 */
export const EYE_CONTOURS = {
  imageLeft: [33, 160, 158, 133, 153, 144],
  imageRight: [362, 385, 387, 263, 373, 380],
} as const;

/** Points that give the face's axes: the outer eye corners and the cheeks (left → right), forehead top and chin (top → bottom). */
const AXES = { eyeOuter: [33, 263], cheeks: [234, 454], forehead: 10, chin: 152 } as const;

type Vec3 = [number, number, number];

const at = (mesh: ArrayLike<number>, i: number): Vec3 => [mesh[3 * i]!, mesh[3 * i + 1]!, mesh[3 * i + 2]!];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const unit = (a: Vec3): Vec3 => {
  const n = Math.hypot(a[0], a[1], a[2]) || 1;
  return [a[0] / n, a[1] / n, a[2] / n];
};
const deg = (rad: number): number => (rad * 180) / Math.PI;
const dist2 = (mesh: ArrayLike<number>, i: number, j: number): number => Math.hypot(mesh[3 * i]! - mesh[3 * j]!, mesh[3 * i + 1]! - mesh[3 * j + 1]!);

/**
 * Head pose from the mesh's own axes: x from the outer eye corners and cheeks, y from forehead to
 * chin, made orthonormal; R = [x y z] decomposed as Rz(roll)·Ry(yaw)·Rx(pitch). A frontal,
 * upright face gives R = I; the sign conventions are those of {@link HeadPose}. Roll is the eye
 * line's angle in the image (exact under rotation in the image plane); yaw and pitch depend on
 * the mesh's depth estimate, and pitch has no calibrated zero (the forehead-to-chin line of a
 * frontal face need not be parallel to the image plane).
 */
export function headPose(mesh: ArrayLike<number>): HeadPose {
  const x0 = add(sub(at(mesh, AXES.eyeOuter[1]), at(mesh, AXES.eyeOuter[0])), sub(at(mesh, AXES.cheeks[1]), at(mesh, AXES.cheeks[0])));
  const y0 = sub(at(mesh, AXES.chin), at(mesh, AXES.forehead));
  const x = unit(x0);
  const z = unit(cross(x, y0));
  const y = cross(z, x);
  // Columns x, y, z: R[1][0] = x.y, R[0][0] = x.x, R[2][0] = x.z, R[2][1] = y.z, R[2][2] = z.z.
  const eyeLeft = at(mesh, AXES.eyeOuter[0]);
  const eyeRight = at(mesh, AXES.eyeOuter[1]);
  return {
    // Turning towards the image's right takes the image-right side of the face away from the camera (x.z > 0).
    yaw: deg(Math.asin(Math.max(-1, Math.min(1, x[2])))),
    // Chin forward: the forehead-to-chin axis points at the camera (y.z < 0).
    pitch: -deg(Math.atan2(y[2], z[2])),
    roll: deg(Math.atan2(eyeRight[1] - eyeLeft[1], eyeRight[0] - eyeLeft[0])),
  };
}

/** EAR = (|p2 − p6| + |p3 − p5|) / (2 |p1 − p4|), in the image plane; 0 for a degenerate eye. */
export function eyeAspectRatio(mesh: ArrayLike<number>, contour: readonly number[]): number {
  const [p1, p2, p3, p4, p5, p6] = contour as [number, number, number, number, number, number];
  const width = dist2(mesh, p1, p4);
  if (!(width > 1e-6)) return 0;
  return (dist2(mesh, p2, p6) + dist2(mesh, p3, p5)) / (2 * width);
}

/**
 * Pose and eyes of a mesh found in a crop turned by `cropAngle` (radians, clockwise in the
 * image): a turn in the image plane adds to roll only (it multiplies R from the left by a
 * rotation about z, which leaves the third row, hence yaw and pitch, alone).
 */
export function meshMeasures(mesh: ArrayLike<number>, cropAngle = 0): MeshMeasures {
  const pose = headPose(mesh);
  let roll = pose.roll + deg(cropAngle);
  if (roll > 180) roll -= 360;
  if (roll <= -180) roll += 360;
  return {
    pose: { ...pose, roll },
    eyes: { left: eyeAspectRatio(mesh, EYE_CONTOURS.imageLeft), right: eyeAspectRatio(mesh, EYE_CONTOURS.imageRight) },
  };
}
