/**
 * One scan's entropy-coded data into the frame's quantised DCT coefficients, sequential or
 * progressive, in libjpeg's order and arithmetic (jdhuff.c decode_mcu, jdphuff.c decode_mcu_*).
 * Coefficients are stored as libjpeg stores them (JCOEF: 16-bit), still quantised.
 */
import { HuffmanReader, type HuffmanTable } from './huffman-reader.js';

/** Zig-zag index → natural (row-major) index, with libjpeg's 16 guard entries for corrupt runs. */
export const NATURAL_ORDER = Int32Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29,
  22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

export interface FrameComponent {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  /** Quantisation table slot named in SOF. */
  readonly tq: number;
  /** Samples per row and rows at the component's own resolution (libjpeg's downsampled_width/height). */
  readonly width: number;
  readonly height: number;
  /** Blocks that hold image samples (width_in_blocks, height_in_blocks). */
  readonly blocksWide: number;
  readonly blocksHigh: number;
  /** Storage stride: blocks padded to whole MCUs of an interleaved scan. */
  readonly blocksPerLine: number;
  readonly blocksPerColumn: number;
  readonly coefs: Int16Array;
  /** The quantisation table as of the component's first scan (libjpeg latches it there). */
  quant: Uint16Array | undefined;
  /** Per coefficient, the point transform of the last scan that coded it; -1 before any (libjpeg's coef_bits). */
  readonly coefBits: Int8Array;
}

export interface ScanComponent {
  readonly comp: FrameComponent;
  readonly dc: HuffmanTable | undefined;
  readonly ac: HuffmanTable | undefined;
}

export interface Scan {
  readonly comps: readonly ScanComponent[];
  readonly progressive: boolean;
  readonly ss: number;
  readonly se: number;
  readonly ah: number;
  readonly al: number;
  /** MCUs between restart markers, 0 = none. */
  readonly restartInterval: number;
  /** MCUs of an interleaved scan. */
  readonly mcusPerLine: number;
  readonly mcusPerColumn: number;
}

type BlockDecoder = (r: HuffmanReader, sc: ScanComponent, ci: number, at: number) => void;

/** Decodes the scan starting at `start`; returns the offset of the marker after its data. */
export function decodeScan(data: Uint8Array, start: number, scan: Scan): number {
  const reader = new HuffmanReader(data, start);
  const dcPred = new Int32Array(scan.comps.length);
  const state = { eobrun: 0 };
  const decode = blockDecoder(scan, dcPred, state);
  const single = scan.comps.length === 1;
  const first = scan.comps[0]!.comp;
  const mcusPerLine = single ? first.blocksWide : scan.mcusPerLine;
  const total = single ? first.blocksWide * first.blocksHigh : scan.mcusPerLine * scan.mcusPerColumn;
  let restarts = 0;
  for (let mcu = 0; mcu < total; mcu++) {
    if (scan.restartInterval > 0 && mcu > 0 && mcu % scan.restartInterval === 0) {
      reader.restart(restarts++);
      dcPred.fill(0);
      state.eobrun = 0;
    }
    const row = Math.floor(mcu / mcusPerLine);
    const col = mcu - row * mcusPerLine;
    if (single) {
      decode(reader, scan.comps[0]!, 0, (row * first.blocksPerLine + col) * 64);
      continue;
    }
    for (let ci = 0; ci < scan.comps.length; ci++) {
      const sc = scan.comps[ci]!;
      const c = sc.comp;
      for (let by = 0; by < c.v; by++) {
        for (let bx = 0; bx < c.h; bx++) decode(reader, sc, ci, ((row * c.v + by) * c.blocksPerLine + col * c.h + bx) * 64);
      }
    }
  }
  for (const { comp } of scan.comps) for (let k = scan.ss; k <= scan.se; k++) comp.coefBits[k] = scan.al;
  return reader.end();
}

function blockDecoder(scan: Scan, dcPred: Int32Array, state: { eobrun: number }): BlockDecoder {
  const { ss, se, ah, al } = scan;
  if (!scan.progressive) {
    return (r, sc, ci, at) => {
      const out = sc.comp.coefs;
      const s = r.symbol(sc.dc!);
      dcPred[ci] = dcPred[ci]! + r.receiveExtend(s);
      out[at] = dcPred[ci]!;
      const ac = sc.ac!;
      for (let k = 1; k < 64; k++) {
        const rs = r.symbol(ac);
        const run = rs >> 4;
        const size = rs & 15;
        if (size !== 0) {
          k += run;
          out[at + NATURAL_ORDER[k]!] = r.receiveExtend(size);
        } else {
          if (run !== 15) break;
          k += 15;
        }
      }
    };
  }
  if (ss === 0) {
    if (ah === 0) {
      return (r, sc, ci, at) => {
        const s = r.symbol(sc.dc!);
        dcPred[ci] = dcPred[ci]! + r.receiveExtend(s);
        sc.comp.coefs[at] = dcPred[ci]! * (1 << al);
      };
    }
    return (r, sc, _ci, at) => {
      if (r.bit() !== 0) sc.comp.coefs[at] = sc.comp.coefs[at]! | (1 << al);
    };
  }
  if (ah === 0) {
    return (r, sc, _ci, at) => {
      if (state.eobrun > 0) {
        state.eobrun--;
        return;
      }
      const out = sc.comp.coefs;
      for (let k = ss; k <= se; k++) {
        const rs = r.symbol(sc.ac!);
        const run = rs >> 4;
        const size = rs & 15;
        if (size !== 0) {
          k += run;
          out[at + NATURAL_ORDER[k]!] = r.receiveExtend(size) * (1 << al);
        } else if (run === 15) {
          k += 15;
        } else {
          state.eobrun = (1 << run) + r.bitsOf(run) - 1;
          break;
        }
      }
    };
  }
  const p1 = 1 << al;
  const m1 = -1 << al;
  return (r, sc, _ci, at) => {
    const out = sc.comp.coefs;
    const refine = (pos: number): void => {
      const c = out[pos]!;
      if (r.bit() !== 0 && (c & p1) === 0) out[pos] = c >= 0 ? c + p1 : c + m1;
    };
    let k = ss;
    if (state.eobrun === 0) {
      for (; k <= se; k++) {
        const rs = r.symbol(sc.ac!);
        let run = rs >> 4;
        const size = rs & 15;
        let value = 0;
        if (size !== 0) {
          // Sizes other than 1 are corrupt; libjpeg warns and goes on, as this does.
          value = r.bit() !== 0 ? p1 : m1;
        } else if (run !== 15) {
          state.eobrun = (1 << run) + r.bitsOf(run);
          break;
        }
        // Step over coded coefficients (refining them) and `run` zero ones.
        do {
          const pos = at + NATURAL_ORDER[k]!;
          if (out[pos] !== 0) refine(pos);
          else if (--run < 0) break;
          k++;
        } while (k <= se);
        if (value !== 0) out[at + NATURAL_ORDER[k]!] = value;
      }
    }
    if (state.eobrun > 0) {
      for (; k <= se; k++) {
        const pos = at + NATURAL_ORDER[k]!;
        if (out[pos] !== 0) refine(pos);
      }
      state.eobrun--;
    }
  };
}
