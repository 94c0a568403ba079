import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AU_LABELS, EXPR_LABELS } from '../core/affect-labels.js';
import { csvHeader, csvLine, csvValues, type CsvLayout, type PredictionRow } from '../core/prediction-csv.js';
import type { RecordedLine } from './recording-meta.js';
import { VIDEO_FILE } from './recording-meta.js';

interface RecordedAffect {
  readonly type: 'affect';
  readonly trackId: number;
  readonly au?: { readonly probs: Record<string, number>; readonly active: Record<string, boolean> };
  readonly expr: { readonly probs: Record<string, number>; readonly label: string };
  readonly va?: { readonly valence: number; readonly arousal: number };
}

/**
 * A recorded affect event as the row `daemon predict` writes for the same frame of the recording's
 * video: `frame` counts from the video's first frame, `pts` is video time, `source` the video file.
 */
export function affectRow(line: RecordedLine): PredictionRow | undefined {
  const e = line.event as unknown as RecordedAffect;
  if (e.type !== 'affect' || line.frame === undefined) return undefined;
  return {
    frame: line.frame,
    source: VIDEO_FILE,
    trackId: e.trackId,
    ...(line.t !== undefined ? { pts: line.t } : {}),
    ...(e.au ? { au: { probs: AU_LABELS.map((l) => e.au!.probs[l] ?? 0), active: AU_LABELS.map((l) => (e.au!.active[l] ? 1 : 0)) } } : {}),
    expr: { probs: EXPR_LABELS.map((l) => e.expr.probs[l] ?? 0), label: e.expr.label },
    ...(e.va ? { va: { valence: e.va.valence, arousal: e.va.arousal } } : {}),
  };
}

/** events.csv: the header, then one line per recorded affect event, in the order they were recorded. */
export async function* eventsCsv(eventsFile: string, opts: { readonly auVa: boolean }): AsyncGenerator<string> {
  const layout: CsvLayout = { video: true, members: [], auVa: opts.auVa };
  yield csvLine(csvHeader(layout)) + '\n';
  const input = createReadStream(eventsFile, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      if (!text.includes('"affect"')) continue;
      let line: RecordedLine;
      try {
        line = JSON.parse(text) as RecordedLine;
      } catch {
        continue; // a line cut off by a crash
      }
      const row = affectRow(line);
      if (row) yield csvLine(csvValues(row, layout)) + '\n';
    }
  } finally {
    lines.close();
    // Closing readline leaves its input open: a download the client abandoned would keep the fd.
    input.destroy();
  }
}
