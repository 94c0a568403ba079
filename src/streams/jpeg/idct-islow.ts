/**
 * libjpeg's accurate integer inverse DCT (jidctint.c jpeg_idct_islow, JDCT_ISLOW: PIL's default),
 * step for step: dequantise, columns first into a work array scaled by 2^PASS1_BITS, then rows,
 * then its range-limit table, which clamps (beyond ±512 it would wrap, as libjpeg's does; such
 * values are refused, see DEQUANT_BITS).
 * FFmpeg's `idct=int` (jrevdct.c, an older IJG version) runs rows first and rounds differently:
 * on the faces tested it moved about 2 % of the samples by one level.
 */
const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** IDCT_range_limit(cinfo)[x & RANGE_MASK] of jdmaster.c's prepare_range_limit_table, for 8-bit samples. */
const RANGE_LIMIT = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) t[i] = i < 128 ? i + 128 : i < 512 ? 255 : i < 896 ? 0 : i - 896;
  return t;
})();

/**
 * Bounds within which libjpeg-turbo's C IDCT and its SIMD ones (x86 AVX2/SSE2, Arm NEON: 16-bit
 * lanes, PIL's usual build) compute the same samples: dequantised coefficients within ±8191, the
 * first pass's outputs within ±16383, the second's within ±512 of the centre. Beyond them the SIMD
 * code wraps or saturates 16-bit values where C keeps 32 or 64 bits, so "PIL's pixels" would
 * depend on the CPU PIL ran on; no 8-bit picture comes near them (libjpeg's own sizing: 11-bit
 * coefficients, 13-bit pass-1 values), only corrupt scan data, which is refused here.
 * Each is a range [-2^k, 2^k): v is in it when (v + 2^k) >>> (k + 1) is 0, which ORs together.
 */
const DEQUANT_BITS = 13;
const PASS1_RANGE_BITS = 14;
const PASS2_BITS = 9;

function corrupt(): never {
  throw new Error('corrupt data: DCT coefficients no 8-bit picture has');
}

/** Arithmetic right shift with rounding (DESCALE) on values that may exceed 32 bits, as libjpeg's JLONG (64-bit) holds them. */
function descale(x: number, n: number): number {
  return Math.floor((x + 2 ** (n - 1)) / 2 ** n);
}

/**
 * One block: `coefs[at … at+63]` (quantised, natural order) times `quant` → 8×8 samples written at
 * `out[outAt + row·stride + col]`. `ws` is a 64-entry scratch array.
 */
export function idctIslow(coefs: Int16Array, at: number, quant: Uint16Array, out: Uint8Array, outAt: number, stride: number, ws: Float64Array): void {
  // Pass 1: columns.
  for (let c = 0; c < 8; c++) {
    const i = at + c;
    if (coefs[i + 8] === 0 && coefs[i + 16] === 0 && coefs[i + 24] === 0 && coefs[i + 32] === 0 && coefs[i + 40] === 0 && coefs[i + 48] === 0 && coefs[i + 56] === 0) {
      const q0 = coefs[i]! * quant[c]!;
      if ((q0 + (1 << DEQUANT_BITS)) >>> (DEQUANT_BITS + 1) !== 0) corrupt();
      const dc = q0 * (1 << PASS1_BITS);
      for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
    let range = 0;
    for (let r = 0; r < 64; r += 8) range |= coefs[i + r]! * quant[c + r]! + (1 << DEQUANT_BITS);
    if (range >>> (DEQUANT_BITS + 1) !== 0) corrupt();
    let z2 = coefs[i + 16]! * quant[c + 16]!;
    let z3 = coefs[i + 48]! * quant[c + 48]!;
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    z2 = coefs[i]! * quant[c]!;
    z3 = coefs[i + 32]! * quant[c + 32]!;
    let tmp0 = (z2 + z3) * (1 << CONST_BITS);
    let tmp1 = (z2 - z3) * (1 << CONST_BITS);
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = coefs[i + 56]! * quant[c + 56]!;
    tmp1 = coefs[i + 40]! * quant[c + 40]!;
    tmp2 = coefs[i + 24]! * quant[c + 24]!;
    tmp3 = coefs[i + 8]! * quant[c + 8]!;
    [tmp0, tmp1, tmp2, tmp3] = odd(tmp0, tmp1, tmp2, tmp3);
    const n = CONST_BITS - PASS1_BITS;
    ws[c] = descale(tmp10 + tmp3, n);
    ws[56 + c] = descale(tmp10 - tmp3, n);
    ws[8 + c] = descale(tmp11 + tmp2, n);
    ws[48 + c] = descale(tmp11 - tmp2, n);
    ws[16 + c] = descale(tmp12 + tmp1, n);
    ws[40 + c] = descale(tmp12 - tmp1, n);
    ws[24 + c] = descale(tmp13 + tmp0, n);
    ws[32 + c] = descale(tmp13 - tmp0, n);
  }
  let range1 = 0;
  for (let k = 0; k < 64; k++) range1 |= ws[k]! + (1 << PASS1_RANGE_BITS);
  if (range1 >>> (PASS1_RANGE_BITS + 1) !== 0) corrupt();
  // Pass 2: rows, descaled by 8 and by the pass-1 scaling.
  const n = CONST_BITS + PASS1_BITS + 3;
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const o = outAt + r * stride;
    let tmp0 = (ws[w]! + ws[w + 4]!) * (1 << CONST_BITS);
    let tmp1 = (ws[w]! - ws[w + 4]!) * (1 << CONST_BITS);
    const z2 = ws[w + 2]!;
    const z3 = ws[w + 6]!;
    const z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    [tmp0, tmp1, tmp2, tmp3] = odd(ws[w + 7]!, ws[w + 5]!, ws[w + 3]!, ws[w + 1]!);
    const x0 = descale(tmp10 + tmp3, n);
    const x7 = descale(tmp10 - tmp3, n);
    const x1 = descale(tmp11 + tmp2, n);
    const x6 = descale(tmp11 - tmp2, n);
    const x2 = descale(tmp12 + tmp1, n);
    const x5 = descale(tmp12 - tmp1, n);
    const x3 = descale(tmp13 + tmp0, n);
    const x4 = descale(tmp13 - tmp0, n);
    const c = 1 << PASS2_BITS;
    if (((x0 + c) | (x1 + c) | (x2 + c) | (x3 + c) | (x4 + c) | (x5 + c) | (x6 + c) | (x7 + c)) >>> (PASS2_BITS + 1) !== 0) corrupt();
    out[o] = RANGE_LIMIT[x0 & 1023]!;
    out[o + 1] = RANGE_LIMIT[x1 & 1023]!;
    out[o + 2] = RANGE_LIMIT[x2 & 1023]!;
    out[o + 3] = RANGE_LIMIT[x3 & 1023]!;
    out[o + 4] = RANGE_LIMIT[x4 & 1023]!;
    out[o + 5] = RANGE_LIMIT[x5 & 1023]!;
    out[o + 6] = RANGE_LIMIT[x6 & 1023]!;
    out[o + 7] = RANGE_LIMIT[x7 & 1023]!;
  }
}

/** The odd part shared by both passes; inputs are the coefficients 7, 5, 3, 1. */
function odd(t0: number, t1: number, t2: number, t3: number): [number, number, number, number] {
  let z1 = t0 + t3;
  let z2 = t1 + t2;
  let z3 = t0 + t2;
  let z4 = t1 + t3;
  const z5 = (z3 + z4) * FIX_1_175875602;
  t0 *= FIX_0_298631336;
  t1 *= FIX_2_053119869;
  t2 *= FIX_3_072711026;
  t3 *= FIX_1_501321110;
  z1 *= -FIX_0_899976223;
  z2 *= -FIX_2_562915447;
  z3 = z3 * -FIX_1_961570560 + z5;
  z4 = z4 * -FIX_0_390180644 + z5;
  return [t0 + z1 + z3, t1 + z2 + z4, t2 + z2 + z3, t3 + z1 + z4];
}
