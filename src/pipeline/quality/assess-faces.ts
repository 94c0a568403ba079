import { map, type OperatorFunction } from 'rxjs';
import type { FaceQuality } from '../../core/face-measures.js';
import type { AlignedFace, FacesRecord } from '../../core/records.js';
import { gateReasons, type QualityGate } from './gate.js';
import { alignedSharpness } from './sharpness.js';

/** The quality of one aligned face in the frame the detector saw (`imageScale` = image pixels per source pixel). */
export function faceQuality(face: AlignedFace, image: FacesRecord['frame']['image'], imageScale: number, gate: QualityGate = {}): FaceQuality {
  const [le, re] = face.landmarks;
  const measured = {
    score: face.score,
    interocularPx: Math.hypot(re[0] - le[0], re[1] - le[1]),
    sharpness: alignedSharpness(image, face.alignment, imageScale),
    ...(face.mesh ? { pose: face.mesh.pose, eyes: face.mesh.eyes } : {}),
  };
  return { ...measured, gated: gateReasons(measured, gate) };
}

/**
 * Attaches each face's {@link FaceQuality}: score, eye distance, sharpness of its aligned crop,
 * pose and eyes from the mesh, and the `gate` thresholds it fails.
 */
export function assessFaces(gate: QualityGate = {}): OperatorFunction<FacesRecord<AlignedFace>, FacesRecord<AlignedFace>> {
  return map((record) => {
    if (record.faces.length === 0) return record;
    const { frame } = record;
    const scale = frame.image.width / frame.sourceWidth;
    return { ...record, faces: record.faces.map((f) => ({ ...f, quality: faceQuality(f, frame.image, scale, gate) })) };
  });
}
