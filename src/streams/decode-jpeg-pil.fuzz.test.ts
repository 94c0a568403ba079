/**
 * Hostile bytes against the PIL-exact JPEG decoder: a deterministic mutation fuzzer over the
 * committed fixtures, and hand-built files for each malformation found by it or by reading
 * libjpeg-turbo's checks (jdmarker.c, jdinput.c, jdphuff.c). Every input must give an image of the
 * size its frame header declares, "unsupported" (the caller decodes it another way), or the
 * decoder's VA_ERR_DECODE DecodeError, whose cause is a plain Error: a TypeError or RangeError
 * underneath would be a bug the catch-all in decodeJpegPil hides.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../core/errors.js';
import { MAX_IMAGE_PIXELS } from './decode-image.js';
import { decodeJpegPil } from './decode-jpeg-pil.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/jpeg');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .map((f) => ({ name: f, bytes: readFileSync(path.join(dir, f)) }));

/** mulberry32: a small seeded PRNG, so every run mutates the same way. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Segment {
  readonly at: number;
  readonly marker: number;
  /** End of the marker segment. */
  readonly end: number;
  /** End of the segment and, for SOS, of the entropy-coded data after it. */
  readonly dataEnd: number;
}

/** The marker segments of `b` as far as they can be walked. */
function segments(b: Uint8Array): Segment[] {
  const out: Segment[] = [];
  for (let i = 2; i + 3 < b.length && b[i] === 0xff; ) {
    const at = i;
    const marker = b[i + 1]!;
    if (marker === 0xd9) {
      out.push({ at, marker, end: i + 2, dataEnd: i + 2 });
      break;
    }
    const end = i + 2 + ((b[i + 2]! << 8) | b[i + 3]!);
    i = end;
    if (marker === 0xda) while (i + 1 < b.length && !(b[i] === 0xff && b[i + 1] !== 0 && !(b[i + 1]! >= 0xd0 && b[i + 1]! <= 0xd7))) i++;
    out.push({ at, marker, end, dataEnd: Math.max(end, i) });
  }
  return out;
}

const EOI = Buffer.from([0xff, 0xd9]);

/** One random mutation of `src`, named. */
function mutate(src: Uint8Array, rnd: () => number): [string, Buffer] {
  const b = Buffer.from(src);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const segs = segments(b);
  if (segs.length === 0 || b.length < 4) return ['none', b];
  const seg = segs[pick(segs.length)]!;
  switch (pick(10)) {
    case 0: {
      for (let n = 1 + pick(8); n > 0; n--) b[2 + pick(b.length - 2)]! ^= 1 << pick(8);
      return ['bit flips', b];
    }
    case 1: {
      // A header byte (sizes, sampling factors, ids, table numbers, Huffman counts, Ss/Se/Ah/Al).
      const p = seg.at + 4 + pick(Math.max(1, seg.end - seg.at - 4));
      if (p < b.length) b[p] = pick(256);
      return ['header byte', b];
    }
    case 2: {
      const p = 2 + pick(b.length - 2);
      return ['byte inserted', Buffer.concat([b.subarray(0, p), Buffer.from([pick(256)]), b.subarray(p)])];
    }
    case 3: {
      const p = 2 + pick(b.length - 2);
      return ['bytes deleted', Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + pick(4))])];
    }
    case 4: {
      if (seg.marker === 0xd9) return ['none', b];
      const delta = [1, -1, 2, -2, 17, -17, 64, -64, 0x8000][pick(9)]!;
      b.writeUInt16BE((b.readUInt16BE(seg.at + 2) + delta) & 0xffff, seg.at + 2);
      return ['segment length edited', b];
    }
    case 5:
      return ['cut at a segment, EOI appended', Buffer.concat([b.subarray(0, seg.at), EOI])];
    case 6:
      return ['cut', b.subarray(0, seg.at + pick(seg.dataEnd - seg.at + 1))];
    case 7: {
      const before = segs[pick(segs.length)]!;
      return ['segment duplicated', Buffer.concat([b.subarray(0, before.at), b.subarray(seg.at, seg.dataEnd), b.subarray(before.at)])];
    }
    case 8:
      return ['segment dropped', Buffer.concat([b.subarray(0, seg.at), b.subarray(seg.dataEnd)])];
    default: {
      const scans = segs.filter((s) => s.marker === 0xda && s.dataEnd > s.end);
      const s = scans[pick(scans.length)];
      if (!s) return ['none', b];
      const p = s.end + pick(s.dataEnd - s.end);
      const marker = [0xd0 + pick(8), 0xd9, 0xda, 0xc4, 0xdb, 0xdd, 0xc0, 0xc2, 0xfe, 0xe0, 0xff][pick(11)]!;
      return ['marker inside entropy data', Buffer.concat([b.subarray(0, p), Buffer.from([0xff, marker]), b.subarray(p)])];
    }
  }
}

/** The size the first SOF0/1/2 declares, walking segments as the decoder does. */
function declaredSize(b: Uint8Array): { width: number; height: number } | undefined {
  const sof = segments(b).find((s) => s.marker >= 0xc0 && s.marker <= 0xc2);
  if (!sof || sof.at + 9 > b.length) return undefined;
  return { height: (b[sof.at + 5]! << 8) | b[sof.at + 6]!, width: (b[sof.at + 7]! << 8) | b[sof.at + 8]! };
}

type Outcome = 'rgb' | 'unsupported' | 'refused';

/** Decodes `bytes`, asserting the decoder's contract; returns what happened. */
function decodeChecked(bytes: Uint8Array, label: string): Outcome {
  try {
    const r = decodeJpegPil(bytes, 'fuzz.jpg', MAX_IMAGE_PIXELS);
    if (r.kind === 'unsupported') return 'unsupported';
    const size = declaredSize(bytes);
    expect({ label, width: r.width, height: r.height, bytes: r.data.length }).toEqual({ label, ...size, bytes: (size?.width ?? 0) * (size?.height ?? 0) * 3 });
    return 'rgb';
  } catch (err) {
    expect(err, label).toBeInstanceOf(DecodeError);
    const e = err as DecodeError;
    expect([label, e.code, e.message.startsWith('fuzz.jpg: ')]).toEqual([label, 'VA_ERR_DECODE', true]);
    // Our own Error, not a TypeError/RangeError from an out-of-range index.
    expect([label, (e.cause as Error | undefined)?.constructor.name]).toEqual([label, 'Error']);
    return 'refused';
  }
}

/** A marker segment. */
function seg(marker: number, body: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(4 + body.length);
  b[0] = 0xff;
  b[1] = marker;
  b.writeUInt16BE(body.length + 2, 2);
  b.set(Array.from(body), 4);
  return b;
}

/** Entropy-coded bytes from (value, bit count) pairs, padded with 1 bits and FF-stuffed. */
function entropy(codes: readonly (readonly [number, number])[]): Buffer {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  const push = (): void => {
    out.push(acc);
    if (acc === 0xff) out.push(0);
    acc = 0;
    n = 0;
  };
  for (const [v, k] of codes) {
    for (let i = k - 1; i >= 0; i--) {
      acc = (acc << 1) | ((v >> i) & 1);
      if (++n === 8) push();
    }
  }
  if (n > 0) {
    acc = (acc << (8 - n)) | ((1 << (8 - n)) - 1);
    push();
  }
  return Buffer.from(out);
}

const SOI = Buffer.from([0xff, 0xd8]);
const dqt = (q = 1): Buffer => seg(0xdb, [0, ...Array<number>(64).fill(q)]);
/** A Huffman table of one 1-bit code for `symbol`. */
const oneCode = (tc: number, symbol: number): Buffer => seg(0xc4, [tc << 4, 1, ...Array<number>(15).fill(0), symbol]);
const sof = (marker: number, w: number, h: number, comps: readonly { id: number; hv: number }[]): Buffer =>
  seg(marker, [8, h >> 8, h & 255, w >> 8, w & 255, comps.length, ...comps.flatMap((c) => [c.id, c.hv, 0])]);
const sos = (ids: readonly number[], ss: number, se: number, ah: number, al: number): Buffer => seg(0xda, [ids.length, ...ids.flatMap((id) => [id, 0]), ss, se, (ah << 4) | al]);
/** AC data coding `blocks` blocks as end-of-band runs (EOB14 = the 1-bit code '0' for symbol E0). */
function eobRuns(blocks: number): Buffer {
  const codes: [number, number][] = [];
  for (let left = blocks; left > 0; left -= 32767) codes.push([0, 1], [Math.max(0, Math.min(left, 32767) - 16384), 14]);
  return entropy(codes);
}

/** A grey progressive 8192×8192 frame whose DC scan is coded (1 bit a block); `scans` follow it. */
function bigProgressive(scans: readonly Buffer[]): Buffer {
  const blocks = 1024 * 1024;
  return Buffer.concat([
    SOI,
    dqt(),
    oneCode(0, 0),
    oneCode(1, 0xe0),
    sof(0xc2, 8192, 8192, [{ id: 1, hv: 0x11 }]),
    sos([1], 0, 0, 0, 0),
    Buffer.alloc(blocks / 8), // every DC difference is the 1-bit code for 0
    ...scans,
    EOI,
  ]);
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
}

const face = fixtures.find((f) => f.name === 'face0_112_q75.jpg')!.bytes;
const faceSegs = segments(face);
const faceSos = faceSegs.find((s) => s.marker === 0xda)!;

describe('hostile JPEGs built by hand: each is VA_ERR_DECODE, quickly', () => {
  it('repeated progressive refinement scans over an 8192×8192 frame are refused (a 200 KB file cost 0.3 s a scan, 5 minutes for 1000)', () => {
    const runs = eobRuns(1024 * 1024);
    const file = bigProgressive([sos([1], 1, 63, 0, 1), runs, ...Array.from({ length: 20 }, () => [sos([1], 1, 63, 1, 0), runs]).flat()]);
    const [outcome, ms] = timed(() => decodeChecked(file, 'refinements'));
    expect(outcome).toBe('refused');
    expect(() => decodeJpegPil(file, 'x.jpg', MAX_IMAGE_PIXELS)).toThrow(/^x\.jpg: .*progressi/);
    expect(ms).toBeLessThan(3000);
  });

  it('a band coded twice at Al 0 (first scans repeated) is refused', () => {
    const runs = eobRuns(1024 * 1024);
    const file = bigProgressive(Array.from({ length: 100 }, () => [sos([1], 1, 63, 0, 0), runs]).flat());
    const [outcome, ms] = timed(() => decodeChecked(file, 'first scans repeated'));
    expect(outcome).toBe('refused');
    expect(ms).toBeLessThan(3000);
  });

  it('an AC scan before any DC scan of its component is refused', () => {
    const file = Buffer.concat([SOI, dqt(), oneCode(0, 0), oneCode(1, 0xe0), sof(0xc2, 16, 16, [{ id: 1, hv: 0x11 }]), sos([1], 1, 63, 0, 0), eobRuns(4), sos([1], 0, 0, 0, 0), entropy([[0, 4]]), EOI]);
    expect(decodeChecked(file, 'AC before DC')).toBe('refused');
  });

  it('a spec-valid progression with more passes over the blocks than MAX_BLOCK_PASSES is refused', () => {
    // Each AC coefficient in its own band, first at Al 13 then refined to Al 0: 63 × 14 scans.
    const runs = eobRuns(1024 * 1024);
    const scans: Buffer[] = [];
    for (let k = 1; k <= 63; k++) scans.push(sos([1], k, k, 0, 13), runs);
    for (let al = 12; al >= 0; al--) for (let k = 1; k <= 63; k++) scans.push(sos([1], k, k, al + 1, al), runs);
    const [outcome, ms] = timed(() => decodeChecked(bigProgressive(scans.slice(0, 2 * 999)), 'many bands'));
    expect(outcome).toBe('refused');
    expect(ms).toBeLessThan(5000);
  });

  it('2 MB of DHT segments are parsed without building a 64 Ki-entry table for each (was ≈ 8 s)', () => {
    const body = Array.from({ length: 3600 }, () => [0x10, 1, ...Array<number>(15).fill(0), 0]).flat();
    const tables = seg(0xc4, body);
    const file = Buffer.concat([SOI, ...Array<Buffer>(Math.ceil(2e6 / tables.length)).fill(tables), face.subarray(2)]);
    const [outcome, ms] = timed(() => decodeChecked(file, 'many DHT'));
    expect(outcome).toBe('rgb');
    expect(ms).toBeLessThan(2000);
  });

  it('an SOS segment longer than its component list (libjpeg: JERR_BAD_LENGTH) is refused', () => {
    const b = Buffer.from(face);
    b.writeUInt16BE(b.readUInt16BE(faceSos.at + 2) + 1, faceSos.at + 2);
    expect(decodeChecked(b, 'long SOS')).toBe('refused');
  });

  it('an SOF segment longer than its components (JERR_BAD_LENGTH) is refused', () => {
    const f = faceSegs.find((s) => s.marker === 0xc0)!;
    const body = Buffer.concat([face.subarray(f.at + 4, f.end), Buffer.from([0, 0, 0])]);
    const b = Buffer.concat([face.subarray(0, f.at), seg(0xc0, body), face.subarray(f.end)]);
    expect(decodeChecked(b, 'long SOF')).toBe('refused');
  });

  it('a DRI segment of the wrong length (JERR_BAD_LENGTH) is refused', () => {
    const b = Buffer.concat([face.subarray(0, faceSos.at), seg(0xdd, [0, 0, 0]), face.subarray(faceSos.at)]);
    expect(decodeChecked(b, 'long DRI')).toBe('refused');
  });

  it('a second scan after a sequential scan that coded every component (JERR_EOI_EXPECTED) is refused', () => {
    const again = face.subarray(faceSos.at, faceSos.dataEnd);
    const b = Buffer.concat([face.subarray(0, faceSos.dataEnd), again, EOI]);
    expect(decodeChecked(b, 'scan after the only scan')).toBe('refused');
  });

  it('DCT coefficients no 8-bit picture has (where libjpeg’s C and SIMD IDCTs disagree) are refused', () => {
    // One grey block: DC difference 2047 (size 11) with quantiser 255, and every AC coefficient 1023.
    const dc = seg(0xc4, [0x00, 1, ...Array<number>(15).fill(0), 11]);
    const ac = seg(0xc4, [0x10, 1, 1, ...Array<number>(14).fill(0), 0x0a, 0x00]);
    const codes: [number, number][] = [[0, 1], [2047, 11]];
    for (let k = 1; k < 64; k++) codes.push([0, 1], [1023, 10]);
    const file = Buffer.concat([SOI, dqt(255), dc, ac, sof(0xc0, 8, 8, [{ id: 1, hv: 0x11 }]), sos([1], 0, 63, 0, 0), entropy(codes), EOI]);
    expect(decodeChecked(file, 'huge coefficients')).toBe('refused');
  });
});

describe('mutation fuzzer over test/fixtures/jpeg', () => {
  it('3000 seeded mutations: each an image of the declared size, unsupported, or VA_ERR_DECODE, none slow', () => {
    const rnd = prng(20);
    const counts: Record<Outcome, number> = { rgb: 0, unsupported: 0, refused: 0 };
    let slowest = { ms: 0, label: '' };
    const cases = 3000;
    for (let n = 0; n < cases; n++) {
      const src = fixtures[n % fixtures.length]!;
      let bytes: Uint8Array = src.bytes;
      const ops: string[] = [];
      for (let r = 1 + Math.floor(rnd() * 3); r > 0; r--) {
        const [op, next] = mutate(bytes, rnd);
        ops.push(op);
        bytes = next;
      }
      const label = `case ${n}: ${src.name}, ${ops.join(' + ')}`;
      const [outcome, ms] = timed(() => decodeChecked(bytes, label));
      counts[outcome]++;
      if (ms > slowest.ms) slowest = { ms, label };
    }
    console.log(`JPEG fuzz: ${cases} cases, ${JSON.stringify(counts)}; slowest ${slowest.ms.toFixed(1)} ms (${slowest.label})`);
    expect(counts.rgb + counts.unsupported + counts.refused).toBe(cases);
    // The mutations reach the decoder's checks and its success path both.
    expect(counts.refused).toBeGreaterThan(cases / 2);
    expect(counts.rgb).toBeGreaterThan(50);
    expect(slowest.ms).toBeLessThan(2000);
  });

  it('every truncation at a segment boundary of every fixture, with and without EOI, is VA_ERR_DECODE', () => {
    let cases = 0;
    for (const { name, bytes } of fixtures) {
      for (const s of segments(bytes)) {
        if (s.marker === 0xd9) continue;
        for (const cutAt of [s.at, s.end, s.dataEnd]) {
          if (cutAt >= bytes.length - 2) continue; // the whole file
          for (const tail of [Buffer.alloc(0), EOI]) {
            cases++;
            expect(decodeChecked(Buffer.concat([bytes.subarray(0, cutAt), tail]), `${name} cut at ${cutAt}${tail.length ? ' + EOI' : ''}`)).not.toBe('rgb');
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(fixtures.length * 30);
  });
});
