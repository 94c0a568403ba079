/**
 * libjpeg's accurate integer inverse DCT (jidctint.c jpeg_idct_islow, JDCT_ISLOW: PIL's default),
 * step for step: dequantise, columns first into a work array scaled by 2^PASS1_BITS, then rows,
 * then its range-limit table, which clamps and, beyond ±512, wraps as libjpeg's does.
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
      const dc = coefs[i]! * quant[c]! * (1 << PASS1_BITS);
      for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
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
    out[o] = RANGE_LIMIT[descale(tmp10 + tmp3, n) & 1023]!;
    out[o + 7] = RANGE_LIMIT[descale(tmp10 - tmp3, n) & 1023]!;
    out[o + 1] = RANGE_LIMIT[descale(tmp11 + tmp2, n) & 1023]!;
    out[o + 6] = RANGE_LIMIT[descale(tmp11 - tmp2, n) & 1023]!;
    out[o + 2] = RANGE_LIMIT[descale(tmp12 + tmp1, n) & 1023]!;
    out[o + 5] = RANGE_LIMIT[descale(tmp12 - tmp1, n) & 1023]!;
    out[o + 3] = RANGE_LIMIT[descale(tmp13 + tmp0, n) & 1023]!;
    out[o + 4] = RANGE_LIMIT[descale(tmp13 - tmp0, n) & 1023]!;
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
