/**
 * Seeded randomness for the data side of training. Every draw is a pure function of integers
 * (seed, epoch, step, index…), so a resumed run recomputes exactly the same draws and no RNG
 * state has to be checkpointed.
 */

/** Mixes integers into one 32-bit seed (murmur3's finaliser over a running hash). */
export function hashSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    // Fold doubles beyond 32 bits in too (seeds may be large).
    const lo = p | 0;
    const hi = Math.floor(p / 4294967296) | 0;
    for (const v of [lo, hi]) {
      let k = Math.imul(v, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A small fast PRNG (mulberry32): uniform floats in [0, 1). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  static of(...parts: readonly number[]): Rng {
    return new Rng(hashSeed(...parts));
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/**
 * `n` draws with replacement from the categorical distribution `weights` (unnormalised, ≥ 0), as
 * torch.multinomial(weights, n, replacement=True) does — not the same stream, the same law.
 * Binary search over the cumulative sum: O(n log N).
 */
export function drawWeighted(weights: ArrayLike<number>, n: number, rng: Rng): Uint32Array {
  const cum = new Float64Array(weights.length);
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] ?? 0;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight ${i} must be finite and ≥ 0, got ${w}`);
    total += w;
    cum[i] = total;
  }
  if (!(total > 0)) throw new RangeError('weights must not all be zero');
  const out = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const r = rng.next() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cum[mid] ?? 0) > r) hi = mid;
      else lo = mid + 1;
    }
    out[k] = lo;
  }
  return out;
}
