/**
 * JPEG decoded to RGB exactly as the seed's authors read their crops: PIL's
 * `Image.open(p).convert('RGB')`, i.e. libjpeg-turbo with PIL's settings (JDCT_ISLOW, fancy
 * upsampling, JCS_RGB output). FFmpeg's decoder differs from it by several levels (its IDCTs are
 * not libjpeg's islow, and swscale's chroma upsampling and YCbCr matrix are its own), which moves
 * AU probabilities enough to flip decisions; this decoder reproduces libjpeg-turbo's arithmetic
 * in TypeScript, checked byte for byte against PIL on test/fixtures/jpeg.
 *
 * Baseline, extended and progressive Huffman JPEGs with one (grey) or three components at 8 bits.
 * Anything libjpeg would decode differently from that arithmetic (arithmetic coding, 12-bit or
 * lossless frames, CMYK/YCCK, a progressive file whose scans leave low coefficients unrefined,
 * which libjpeg then smooths) is reported as unsupported, for the caller to decode another way.
 *
 * Hostile input: the declared size is bounded before anything is allocated, and so is the block
 * count by the file's length (every block costs at least one bit), so a small file cannot claim a
 * huge picture; scans are limited in number; any structural fault or missing data is a DecodeError.
 */
import { DecodeError, ErrorCodes } from '../core/errors.js';
import { decodeScan, NATURAL_ORDER, type FrameComponent, type Scan, type ScanComponent } from './jpeg/decode-scan.js';
import { huffmanSpec, huffmanTable, type HuffmanSpec } from './jpeg/huffman-reader.js';
import { idctIslow } from './jpeg/idct-islow.js';
import { upsample, type SamplePlane } from './jpeg/upsample.js';
import { interleave, yccToRgb } from './jpeg/ycc-to-rgb.js';

export interface PilRgb {
  readonly kind: 'rgb';
  /** Packed RGB24, height × width × 3. */
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface PilUnsupported {
  readonly kind: 'unsupported';
  readonly reason: string;
}

/** More scans than any encoder writes (libjpeg-turbo's tools suggest 500 as a limit); each costs a pass over every block. */
export const MAX_JPEG_SCANS = 1000;

/**
 * Passes over the frame's blocks that all scans together may make, counted per block (libjpeg's
 * progressive script makes about 6, a valid progression at most 1 + 63 × 14 per component). A
 * progressive AC scan of end-of-band runs codes 32767 blocks in 15 bits, so without this a 200 KB
 * file declaring 8192×8192 could ask for 1000 passes over a million blocks (minutes).
 */
export const MAX_BLOCK_PASSES = 64;

/** libjpeg's coefficients whose incomplete refinement turns on block smoothing (jdcoefct.c, SAVED_COEFS). */
const SMOOTHED_COEFS = 10;

interface FrameHeader {
  readonly progressive: boolean;
  readonly width: number;
  readonly height: number;
  readonly comps: readonly FrameComponent[];
  readonly maxH: number;
  readonly maxV: number;
  readonly mcusPerLine: number;
  readonly mcusPerColumn: number;
  /** Blocks holding samples, all components. */
  readonly blocks: number;
}

class Unsupported extends Error {}

/** Decodes a complete JPEG (`bytes` from SOI); `maxPixels` bounds the declared size. */
export function decodeJpegPil(bytes: Uint8Array, name: string, maxPixels: number): PilRgb | PilUnsupported {
  try {
    return { kind: 'rgb', ...decode(bytes, maxPixels) };
  } catch (err) {
    if (err instanceof Unsupported) return { kind: 'unsupported', reason: err.message };
    throw new DecodeError(ErrorCodes.DECODE, `${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function decode(d: Uint8Array, maxPixels: number): { data: Uint8Array; width: number; height: number } {
  if (!(d[0] === 0xff && d[1] === 0xd8)) throw new Error('not a JPEG (no SOI marker)');
  const quant: (Uint16Array | undefined)[] = [];
  const dc: (HuffmanSpec | undefined)[] = [];
  const ac: (HuffmanSpec | undefined)[] = [];
  let frame: FrameHeader | undefined;
  let restartInterval = 0;
  let jfif = false;
  let adobeTransform: number | undefined;
  let scans = 0;
  let blockPasses = 0;
  let onlyScanDone = false;
  let i = 2;
  for (;;) {
    while (i < d.length && d[i] === 0xff && d[i + 1] === 0xff) i++;
    if (i + 1 >= d.length) throw new Error('the file ends before its end-of-image marker (truncated)');
    if (d[i] !== 0xff) throw new Error(`no marker at byte ${i}`);
    const marker = d[i + 1]!;
    if (marker === 0xd9) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) throw new Error(`unexpected marker FF${marker.toString(16).toUpperCase()} at byte ${i}`);
    if (i + 3 >= d.length) throw new Error('the file ends inside a segment header (truncated)');
    const len = (d[i + 2]! << 8) | d[i + 3]!;
    const at = i + 4;
    const end = i + 2 + len;
    if (len < 2 || end > d.length) throw new Error(`a segment at byte ${i} runs past the end of the file (truncated)`);
    const seg = d.subarray(at, end);
    i = end;
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (frame) throw new Error('two frame headers (SOF)');
      frame = parseFrame(seg, marker === 0xc2, maxPixels, d.length);
    } else if ((marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xdc) {
      throw new Unsupported(`JPEG process SOF${marker - 0xc0} (marker FF${marker.toString(16).toUpperCase()})`);
    } else if (marker === 0xc4) {
      parseHuffman(seg, dc, ac);
    } else if (marker === 0xdb) {
      parseQuant(seg, quant);
    } else if (marker === 0xdd) {
      if (seg.length !== 2) throw new Error('bad DRI segment length');
      restartInterval = (seg[0]! << 8) | seg[1]!;
    } else if (marker === 0xe0 && seg.length >= 5 && String.fromCharCode(...seg.subarray(0, 5)) === 'JFIF\0') {
      jfif = true;
    } else if (marker === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === 'Adobe') {
      adobeTransform = seg[11]!;
    } else if (marker === 0xda) {
      if (!frame) throw new Error('a scan (SOS) before the frame header (SOF)');
      if (++scans > MAX_JPEG_SCANS) throw new Error(`more than ${MAX_JPEG_SCANS} scans`);
      // libjpeg decodes a sequential file whose first scan has every component as one scan, and fails on another (JERR_EOI_EXPECTED).
      if (onlyScanDone) throw new Error('a scan after the image’s only scan (end of image expected)');
      const scan = parseScan(seg, frame, quant, dc, ac, restartInterval);
      onlyScanDone = !frame.progressive && scans === 1 && scan.comps.length === frame.comps.length;
      blockPasses += scanBlocks(scan);
      if (blockPasses > MAX_BLOCK_PASSES * frame.blocks) throw new Error(`the scans pass over the blocks more than ${MAX_BLOCK_PASSES} times`);
      i = decodeScan(d, i, scan);
    }
  }
  if (!frame) throw new Error('no frame header (SOF)');
  for (const c of frame.comps) {
    if (c.coefBits[0]! < 0) throw new Error(`no scan codes component ${c.id} (missing data)`);
    if (frame.progressive && c.coefBits.subarray(0, SMOOTHED_COEFS).some((b) => b !== 0)) {
      throw new Unsupported('a progressive JPEG whose scans leave low coefficients unrefined (libjpeg smooths those blocks)');
    }
  }
  return toRgb(frame, colorTransform(frame, jfif, adobeTransform));
}

function parseFrame(s: Uint8Array, progressive: boolean, maxPixels: number, fileBytes: number): FrameHeader {
  if (s.length < 6) throw new Error('short frame header');
  const precision = s[0]!;
  const height = (s[1]! << 8) | s[2]!;
  const width = (s[3]! << 8) | s[4]!;
  const n = s[5]!;
  if (precision !== 8) throw new Unsupported(`${precision}-bit samples`);
  if (height === 0) throw new Unsupported('a height given by a DNL marker');
  if (width === 0) throw new Error('bad image size: width 0');
  if (width * height > maxPixels) throw new Error(`bad image size ${width}×${height} (over ${maxPixels} pixels)`);
  if (n === 4) throw new Unsupported('a four-component (CMYK or YCCK) JPEG');
  if (n !== 1 && n !== 3) throw new Error(`${n} components`);
  if (s.length !== 6 + 3 * n) throw new Error('bad frame header length');
  const specs = Array.from({ length: n }, (_, k) => ({ id: s[6 + 3 * k]!, h: s[7 + 3 * k]! >> 4, v: s[7 + 3 * k]! & 15, tq: s[8 + 3 * k]! }));
  for (const c of specs) {
    if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3) throw new Error(`bad sampling factors or table of component ${c.id}`);
    if (specs.filter((o) => o.id === c.id).length > 1) throw new Error(`component id ${c.id} given twice`);
  }
  const maxH = Math.max(...specs.map((c) => c.h));
  const maxV = Math.max(...specs.map((c) => c.v));
  const mcusPerLine = Math.ceil(width / (8 * maxH));
  const mcusPerColumn = Math.ceil(height / (8 * maxV));
  const dims = specs.map((c) => {
    const w = Math.ceil((width * c.h) / maxH);
    const h = Math.ceil((height * c.v) / maxV);
    return { w, h, bw: Math.ceil(w / 8), bh: Math.ceil(h / 8) };
  });
  // Every block's DC coefficient takes at least one bit of some scan.
  const blocks = dims.reduce((a, x) => a + x.bw * x.bh, 0);
  if (blocks > fileBytes * 8) throw new Error(`${width}×${height} needs ${blocks} blocks, more than ${fileBytes} bytes can code (truncated or forged header)`);
  const comps = specs.map((c, k): FrameComponent => {
    const x = dims[k]!;
    const blocksPerLine = mcusPerLine * c.h;
    const blocksPerColumn = mcusPerColumn * c.v;
    return {
      ...c,
      width: x.w,
      height: x.h,
      blocksWide: x.bw,
      blocksHigh: x.bh,
      blocksPerLine,
      blocksPerColumn,
      coefs: new Int16Array(blocksPerLine * blocksPerColumn * 64),
      quant: undefined,
      coefBits: new Int8Array(64).fill(-1),
    };
  });
  return { progressive, width, height, comps, maxH, maxV, mcusPerLine, mcusPerColumn, blocks };
}

function parseHuffman(s: Uint8Array, dc: (HuffmanSpec | undefined)[], ac: (HuffmanSpec | undefined)[]): void {
  for (let p = 0; p < s.length; ) {
    if (p + 17 > s.length) throw new Error('short DHT segment');
    const tc = s[p]! >> 4;
    const th = s[p]! & 15;
    const counts = s.subarray(p + 1, p + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (tc > 1 || th > 3 || total > 256 || p + 17 + total > s.length) throw new Error('bad DHT segment');
    const symbols = s.subarray(p + 17, p + 17 + total);
    // libjpeg refuses DC symbols above 15 (jdhuff.c): no difference has more bits.
    if (tc === 0 && symbols.some((v) => v > 15)) throw new Error('bad DC Huffman table');
    (tc === 0 ? dc : ac)[th] = huffmanSpec(counts, symbols);
    p += 17 + total;
  }
}

function parseQuant(s: Uint8Array, quant: (Uint16Array | undefined)[]): void {
  for (let p = 0; p < s.length; ) {
    const pq = s[p]! >> 4;
    const tq = s[p]! & 15;
    const size = pq === 0 ? 64 : 128;
    if (pq > 1 || tq > 3 || p + 1 + size > s.length) throw new Error('bad DQT segment');
    const t = new Uint16Array(64);
    for (let k = 0; k < 64; k++) t[NATURAL_ORDER[k]!] = pq === 0 ? s[p + 1 + k]! : (s[p + 1 + 2 * k]! << 8) | s[p + 2 + 2 * k]!;
    quant[tq] = t;
    p += 1 + size;
  }
}

function parseScan(
  s: Uint8Array,
  f: FrameHeader,
  quant: readonly (Uint16Array | undefined)[],
  dc: readonly (HuffmanSpec | undefined)[],
  ac: readonly (HuffmanSpec | undefined)[],
  restartInterval: number,
): Scan {
  const n = s[0] ?? 0;
  if (n < 1 || n > 4 || s.length !== 4 + 2 * n) throw new Error('bad scan header');
  let ss = s[1 + 2 * n]!;
  let se = s[2 + 2 * n]!;
  let ah = s[3 + 2 * n]! >> 4;
  let al = s[3 + 2 * n]! & 15;
  if (f.progressive) {
    const bad = (ss === 0 ? se !== 0 : ss > se || se > 63 || n !== 1) || (ah !== 0 && al !== ah - 1) || al > 13;
    if (bad) throw new Error(`invalid progressive parameters Ss=${ss} Se=${se} Ah=${ah} Al=${al}`);
  } else {
    // libjpeg only warns about these in a sequential scan and decodes it as one.
    [ss, se, ah, al] = [0, 63, 0, 0];
  }
  const needDc = ss === 0 && ah === 0;
  const needAc = se > 0;
  const comps: ScanComponent[] = [];
  for (let k = 0; k < n; k++) {
    const id = s[1 + 2 * k]!;
    const comp = f.comps.find((c) => c.id === id);
    if (!comp || comps.some((c) => c.comp === comp)) throw new Error(`bad component ${id} in a scan`);
    const t = s[2 + 2 * k]!;
    const dcSpec = dc[t >> 4];
    const acSpec = ac[t & 15];
    if ((needDc && !dcSpec) || (needAc && !acSpec)) throw new Error(`a scan uses a Huffman table that was not defined`);
    if (f.progressive) checkProgression(comp, ss, se, ah);
    if (comp.quant === undefined) {
      const q = quant[comp.tq];
      if (!q) throw new Error(`quantisation table ${comp.tq} was not defined`);
      comp.quant = q;
    }
    comps.push({ comp, dc: needDc && dcSpec ? huffmanTable(dcSpec) : undefined, ac: needAc && acSpec ? huffmanTable(acSpec) : undefined });
  }
  if (n > 1 && comps.reduce((a, c) => a + c.comp.h * c.comp.v, 0) > 10) throw new Error('more than 10 blocks in an MCU');
  return { comps, progressive: f.progressive, ss, se, ah, al, restartInterval, mcusPerLine: f.mcusPerLine, mcusPerColumn: f.mcusPerColumn };
}

/**
 * A progressive scan must code each coefficient's bits in order, once (T.81 G.1.1.1.1; libjpeg's
 * JWRN_BOGUS_PROGRESSION, which it only warns about): a band's first scan (Ah 0) before any other,
 * each refinement at the previous scan's Al, AC only after DC. That also bounds the work: a
 * coefficient is visited at most 14 times, where repeated refinements of a large frame cost 0.3 s a scan.
 */
function checkProgression(comp: FrameComponent, ss: number, se: number, ah: number): void {
  const bits = comp.coefBits;
  if (ss > 0 && bits[0]! < 0) throw new Error(`bad progression: an AC scan of component ${comp.id} before its DC scan`);
  for (let k = ss; k <= se; k++) {
    if (ah === 0 ? bits[k]! >= 0 : bits[k] !== ah) throw new Error(`bad progression: coefficient ${k} of component ${comp.id} coded out of order or twice`);
  }
}

/** Blocks the scan decodes (an interleaved one's include its MCUs' padding). */
function scanBlocks(scan: Scan): number {
  const first = scan.comps[0]!.comp;
  if (scan.comps.length === 1) return first.blocksWide * first.blocksHigh;
  return scan.mcusPerLine * scan.mcusPerColumn * scan.comps.reduce((a, c) => a + c.comp.h * c.comp.v, 0);
}

type ColorTransform = 'grey' | 'ycc' | 'rgb';

/** libjpeg's guess of the colour space (jdapimin.c default_decompress_parms). */
function colorTransform(f: FrameHeader, jfif: boolean, adobeTransform: number | undefined): ColorTransform {
  if (f.comps.length === 1) return 'grey';
  if (jfif) return 'ycc';
  if (adobeTransform !== undefined) return adobeTransform === 0 ? 'rgb' : 'ycc';
  const ids = f.comps.map((c) => c.id).join(',');
  return ids === '82,71,66' ? 'rgb' : 'ycc';
}

function toRgb(f: FrameHeader, transform: ColorTransform): { data: Uint8Array; width: number; height: number } {
  const ws = new Float64Array(64);
  const planes = f.comps.map((c) => {
    const stride = c.blocksWide * 8;
    const samples = new Uint8Array(stride * c.blocksHigh * 8);
    for (let by = 0; by < c.blocksHigh; by++) {
      for (let bx = 0; bx < c.blocksWide; bx++) {
        idctIslow(c.coefs, (by * c.blocksPerLine + bx) * 64, c.quant!, samples, by * 8 * stride + bx * 8, stride, ws);
      }
    }
    const plane: SamplePlane = { data: samples, stride, width: c.width, height: c.height, h: c.h, v: c.v };
    const full = upsample(plane, f.maxH, f.maxV, f.width, f.height);
    if (typeof full === 'string') throw new Unsupported(full);
    return full;
  });
  const [a, b, c] = planes as [Uint8Array, Uint8Array?, Uint8Array?];
  const data = transform === 'grey' ? interleave(a) : transform === 'rgb' ? interleave(a, b!, c!) : yccToRgb(a, b!, c!);
  return { data, width: f.width, height: f.height };
}
