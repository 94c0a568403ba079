import { describe, expect, it } from 'vitest';
import { combineMembers, decodeMemberFrame } from '../models/seed/index.js';
import { csvHeader, csvLine, csvValues, toRow } from './rows.js';

const logits = (shift: number) => ({
  EXPR: Array.from({ length: 7 }, (_, i) => (i === 4 ? 2 + shift : shift * i)),
  AU: Array.from({ length: 8 }, (_, i) => i - 4 + shift),
  VA: Array.from({ length: 40 }, (_, i) => (i % 20) / 10 - shift),
});
const members = [
  { name: 'student_0', role: 'student' },
  { name: 'student_1', role: 'student' },
];

describe('prediction rows', () => {
  const frame = combineMembers([decodeMemberFrame(logits(0)), decodeMemberFrame(logits(0.5))], { thresholds: new Array<number>(8).fill(0.5), includeMembers: true });

  it('carries the ensemble decision, 0/1 AU activity, and named per-member outputs', () => {
    const row = toRow({ frame: 3, source: 'a.png' }, frame, members);
    expect(row.frame).toBe(3);
    expect('trackId' in row).toBe(false);
    expect(row.au!.active).toEqual(row.au!.probs.map((p) => (p > 0.5 ? 1 : 0)));
    expect(row.expr.label).toBe('Happiness');
    expect(Math.abs(row.expr.probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    expect(row.members?.map((m) => m.name)).toEqual(['student_0', 'student_1']);
    // The ensemble AU probability is the mean of the members'.
    const mean = (row.members ?? []).reduce((s, m) => s + (m.au!.probs[0] ?? 0), 0) / 2;
    expect(Math.abs((row.au!.probs[0] ?? 0) - mean)).toBeLessThan(2e-6);
  });

  it('flattens to CSV with one value per header column, video and member columns included', () => {
    const layout = { video: true, members: ['student_0', 'student_1'] };
    const row = toRow({ frame: 7, source: 'v.mp4', trackId: 2, pts: 0.2335 }, frame, members);
    const header = csvHeader(layout);
    const values = csvValues(row, layout);
    expect(values).toHaveLength(header.length);
    expect(header.slice(0, 5)).toEqual(['frame', 'source', 'trackId', 'pts', 'au.probs.AU1']);
    expect(values[header.indexOf('expr.label')]).toBe('Happiness');
    expect(values[header.indexOf('members.student_1.va.arousal')]).toBe(row.members?.[1]?.va!.arousal);
    expect(csvHeader({ video: false, members: [] })).toHaveLength(2 + 8 + 8 + 7 + 3);
  });

  it('carries the uncertainty of the decision, and its CSV columns line up with their values', () => {
    const row = toRow({ frame: 7, source: 'v.mp4', trackId: 2, pts: 0.2335 }, frame, members, { state: 'running', samples: 3, values: Float64Array.from({ length: 17 }, () => 0.1) });
    // Two members that differ: spread, agreement, entropy and margin all present (their values: src/models/seed/uncertainty.test.ts).
    expect(row.au!.spread).toHaveLength(8);
    expect(row.expr.agreement).toBeDefined();
    expect(row.expr.entropy).toBeGreaterThan(0);
    expect(row.va!.std).toBeDefined();
    expect(row.baseline!.au!.delta[0]).toBeCloseTo(row.au!.probs[0]! - 0.1, 6);
    const layout = { video: true, members: [], trust: true, baseline: true };
    const header = csvHeader(layout);
    const values = csvValues(row, layout);
    expect(values).toHaveLength(header.length);
    expect(values[header.indexOf('au.spread.AU1')]).toBe(row.au!.spread![0]);
    expect(values[header.indexOf('expr.entropy')]).toBe(row.expr.entropy);
    expect(values[header.indexOf('va.std.arousal')]).toBe(row.va!.std!.arousal);
    expect(values[header.indexOf('baseline.state')]).toBe('running');
    expect(values[header.indexOf('baseline.va.delta.valence')]).toBe(row.baseline!.va!.delta.valence);
    // A row without a window leaves the window columns empty rather than shifting the others.
    expect(values[header.indexOf('au.windowSpread.AU1')]).toBe('');
  });

  it('quotes CSV fields that need it (RFC 4180)', () => {
    expect(csvLine([1, 'plain.png', 'a,b.png', 'say "hi"'])).toBe('1,plain.png,"a,b.png","say ""hi"""');
  });
});
