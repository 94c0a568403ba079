import type { AlignedFace, Alignment } from '../../core/records.js';
import { computeAlignment } from '../face-aligner/index.js';
import type { FaceCropSpec } from './manifest.js';

/**
 * The crop a model is fed, as a similarity from crop pixels to source pixels, so every kind of
 * crop is cut by the same warp (`cropAlignedFacesUint8`) live and offline:
 * - `aligned`: the seed's §7.1 alignment (rotated so the eyes are level);
 * - `box`: an upright square of `scale` × the face box's longer side around the box centre.
 */
export function faceCropAlignment(face: AlignedFace, spec: FaceCropSpec, size: number): Alignment {
  if (spec.kind === 'aligned') return face.alignment.size === size ? face.alignment : computeAlignment(face.landmarks, size);
  const [x, y, w, h] = face.box;
  const side = Math.max(w, h, 1) * spec.scale;
  const s = side / size;
  return { cropToSource: [s, 0, x + w / 2 - side / 2, 0, s, y + h / 2 - side / 2], size, angleDeg: 0 };
}

/** What a model says about its crop: the kind, and its side in pixels (null: the alignment's own). */
export interface ModelCrop {
  readonly crop: FaceCropSpec;
  readonly cropSize: number | null;
}

/** The crop `model` is fed of `face` (faceCropAlignment at the model's size). */
export function modelCropAlignment(face: AlignedFace, model: ModelCrop): Alignment {
  return faceCropAlignment(face, model.crop, model.cropSize ?? face.alignment.size);
}
