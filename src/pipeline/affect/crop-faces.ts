import { map, type OperatorFunction } from 'rxjs';
import { cropAlignedFacesUint8 } from '../../models/face-aligner/index.js';
import type { AlignedFace, Alignment } from '../../core/records.js';
import type { TrackOutput } from '../track-faces.js';
import type { CroppedRecord } from './affect-records.js';

/**
 * The model's crop of every tracked face, cut from the frame the detector saw: by default the
 * aligned 112×112 face (the seed's crop); a packaged member declares its own (`cropOf`).
 */
export function cropFaces(cropOf: (face: AlignedFace) => Alignment = (face) => face.alignment): OperatorFunction<TrackOutput, CroppedRecord> {
  return map((record) => {
    if (record.kind === 'tracks-closed' || record.faces.length === 0) return { record, crops: [] };
    const { frame } = record;
    return { record, crops: cropAlignedFacesUint8(frame.image, record.faces.map(cropOf), frame.image.width / frame.sourceWidth) };
  });
}
