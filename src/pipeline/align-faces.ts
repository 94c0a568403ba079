import { map, type OperatorFunction } from 'rxjs';
import type { AlignedFace, FaceObservation, FacesRecord } from '../core/records.js';
import { computeAlignment } from '../models/face-aligner/index.js';

/** Attaches the seed's alignment (spec §7.1) to each face; crops are cut on demand from it. */
export function alignFaces(opts: { readonly size: number }): OperatorFunction<FacesRecord<FaceObservation>, FacesRecord<AlignedFace>> {
  return map((record) => ({
    ...record,
    faces: record.faces.map((f) => ({ ...f, alignment: computeAlignment(f.landmarks, opts.size) })),
  }));
}
