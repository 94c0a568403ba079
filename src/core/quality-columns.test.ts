import { describe, expect, it } from 'vitest';
import { QUALITY_COLUMNS, csvHeader, csvValues, type PredictionRow } from './prediction-csv.js';

describe('quality columns of video rows', () => {
  const layout = { video: true, members: [], quality: true } as const;
  const row: PredictionRow = {
    frame: 26,
    source: 'clip.mp4',
    trackId: 1,
    pts: 0.8667,
    expr: { probs: [1, 0, 0, 0, 0, 0, 0], label: 'Neutral' },
    quality: { score: 0.99, interocularPx: 61.2, sharpness: 88.4, pose: { yaw: 0.5, pitch: -4.2, roll: -2.4 }, eyes: { left: 0.151, right: 0.138, closure: 0.97, perclos: 0.02, blinkRate: 60 }, gated: [] },
  };

  it('are in the header only when asked for, in QUALITY_COLUMNS order', () => {
    expect(csvHeader({ video: true, members: [] }).some((c) => c.startsWith('quality.'))).toBe(false);
    const header = csvHeader(layout);
    expect(header.filter((c) => c.startsWith('quality.'))).toEqual([...QUALITY_COLUMNS]);
  });

  it('hold the row’s values, and blanks for a row without quality or without a mesh', () => {
    const header = csvHeader(layout);
    const values = csvValues(row, layout);
    expect(values).toHaveLength(header.length);
    const at = (name: string, v: (string | number)[]) => v[header.indexOf(name)];
    expect(at('quality.sharpness', values)).toBe(88.4);
    expect(at('quality.pose.roll', values)).toBe(-2.4);
    expect(at('quality.eyes.closure', values)).toBe(0.97);
    const { quality: _, ...bare } = row;
    expect(QUALITY_COLUMNS.map((c) => at(c, csvValues(bare, layout)))).toEqual(QUALITY_COLUMNS.map(() => ''));
    const noMesh = csvValues({ ...row, quality: { score: 0.9, interocularPx: 20, sharpness: 10, gated: [] } }, layout);
    expect(at('quality.score', noMesh)).toBe(0.9);
    expect(at('quality.pose.yaw', noMesh)).toBe('');
  });
});
