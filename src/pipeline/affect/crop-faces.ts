import { map, type OperatorFunction } from 'rxjs';
import { cropAlignedFacesUint8 } from '../../models/face-aligner/index.js';
import type { TrackOutput } from '../track-faces.js';
import type { CroppedRecord } from './affect-records.js';

/** The aligned 112×112 crop of every tracked face, cut from the frame the detector saw. */
export function cropFaces(): OperatorFunction<TrackOutput, CroppedRecord> {
  return map((record) => {
    if (record.kind === 'tracks-closed' || record.faces.length === 0) return { record, crops: [] };
    const { frame } = record;
    return { record, crops: cropAlignedFacesUint8(frame.image, record.faces.map((f) => f.alignment), frame.image.width / frame.sourceWidth) };
  });
}
