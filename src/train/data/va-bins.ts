/**
 * The seed's VA training bins (spec §3.2, §4.3): edges numpy.linspace(−1, 1, 21), i.e. −1 + 0.1·i
 * in float64 (edge 7 is −0.29999999999999993, so y = −0.3 lands in bin 6), bin(y) = (number of
 * edges ≤ y) − 1, with 20 (y = 1.0) clipped to 19. Compute bins here, in float64, not in float32.
 */
export const VA_BIN_EDGES: readonly number[] = Object.freeze(Array.from({ length: 21 }, (_, i) => (i === 20 ? 1 : -1 + i * 0.1)));

export function vaBin(y: number): number {
  let n = 0;
  for (const e of VA_BIN_EDGES) if (e <= y) n++;
  return Math.max(0, Math.min(19, n - 1));
}
