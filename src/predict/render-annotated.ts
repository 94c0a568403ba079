/**
 * `daemon predict --render`: the predictions of a video drawn onto it in the seed's demo layout
 * (spec §7.5). The predict pass records each analysed frame's faces and their rows; a second pass
 * decodes the video again, paints every frame and encodes it (src/streams/render-video.ts).
 */
import type { Box } from '../core/records.js';
import { AU_LABELS, EXPR_LABELS } from '../models/seed/index.js';
import { AffectFramePainter, affectLayout, type AffectTasks, type FaceAffect } from '../render/affect-frame.js';
import { renderVideo, type RenderSummary } from '../streams/render-video.js';
import type { PredictionRow } from './rows.js';

interface Slot {
  readonly box: Box;
  row?: PredictionRow;
}

/** Faces and prediction rows per analysed frame, keyed by decoded-frame number and track. */
export class RenderCollector {
  private readonly frames = new Map<number, Map<number, Slot>>();

  constructor(readonly tasks: AffectTasks) {}

  frame(frame: number, faces: readonly { readonly trackId: number; readonly box: Box }[]): void {
    this.frames.set(frame, new Map(faces.map((f) => [f.trackId, { box: f.box }])));
  }

  row(row: PredictionRow): void {
    const slot = row.trackId !== undefined ? this.frames.get(row.frame)?.get(row.trackId) : undefined;
    if (slot) slot.row = row;
  }

  /** The faces of an analysed frame, or undefined for a frame that was not analysed (analysisFps). */
  facesAt(frame: number): FaceAffect[] | undefined {
    const slots = this.frames.get(frame);
    if (!slots) return undefined;
    return [...slots].map(([trackId, s]) => this.toFace(trackId, s));
  }

  private toFace(trackId: number, s: Slot): FaceAffect {
    const r = s.row;
    if (!r) return { trackId, box: s.box };
    return {
      trackId,
      box: s.box,
      ...(this.tasks.au && r.au ? { au: { labels: AU_LABELS, probs: r.au.probs, active: r.au.active.map((a) => a === 1) } } : {}),
      ...(this.tasks.expr ? { expr: { labels: EXPR_LABELS, probs: r.expr.probs, label: r.expr.label } } : {}),
      ...(this.tasks.va && r.va ? { va: r.va } : {}),
    };
  }
}

export async function renderAnnotated(input: string, output: string, collected: RenderCollector): Promise<RenderSummary> {
  let painter: AffectFramePainter | undefined;
  let current: FaceAffect[] = [];
  return renderVideo({
    input,
    output,
    geometry: (source) => {
      painter = new AffectFramePainter(affectLayout(source, collected.tasks));
      const L = painter.layout;
      return { width: L.width, height: L.height, frameWidth: L.frameWidth, frameHeight: L.frameHeight };
    },
    paint: (frame, out) => {
      // Frames skipped by analysisFps show the last analysed frame's faces.
      current = collected.facesAt(frame.index) ?? current;
      painter!.paint(out, frame.image, frame.pts, current);
    },
  });
}
