/**
 * The FaceBatchLoader of the training loops: reads face images (JPEG as PIL decodes it, PNG/BMP
 * with FFmpeg's decoders), resizes them to 134 once and keeps them in a small LRU, then
 * crops/flips per the augmentation into one NHWC float32 batch (spec §1.3).
 */
import { INPUT_SIZE } from '../../models/seed/constants.js';
import { decodeImage, readImageBytes, type RgbImage } from '../../streams/decode-image.js';
import { DataFormatError } from './read-report.js';
import { cropInto, cropPlan, resizeForCrop } from './face-transform.js';
import type { FaceBatchLoader, LabelledFace } from './types.js';

export interface FaceBatchLoaderOptions {
  /** Resized faces kept in memory (≈ 54 kB each at 134×134; default 2048 ≈ 110 MB). 0 = no cache. */
  readonly cacheEntries?: number;
  /** Files read concurrently (default 16). */
  readonly concurrency?: number;
}

export interface FaceBatchLoaderStats {
  readonly images: number;
  readonly cacheHits: number;
  readonly decoded: number;
  /** Milliseconds spent reading + decoding + resizing (cache misses) and cropping (all). */
  readonly decodeMs: number;
  readonly cropMs: number;
}

export type StatefulFaceBatchLoader = FaceBatchLoader & { stats(): FaceBatchLoaderStats; clear(): void };

/** Least-recently-used map (Map keeps insertion order; a hit re-inserts). */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }
  clear(): void {
    this.map.clear();
  }
}

async function loadResized(file: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readImageBytes(file);
  } catch (err) {
    throw new DataFormatError(file, undefined, `cannot read the face image (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  // A truncated or damaged face is a DecodeError naming the file: the run stops rather than train on concealment.
  // JPEG as the seed's PIL decodes it: its authors read their training crops with PIL.
  const img = decodeImage(bytes, file, { jpeg: 'pil' });
  if (img.width < 8 || img.height < 8) throw new DataFormatError(file, undefined, `face image too small (${img.width}×${img.height})`);
  return resizeForCrop(img);
}

export function createFaceBatchLoader(o: FaceBatchLoaderOptions = {}): StatefulFaceBatchLoader {
  const cache = new Lru<RgbImage>(o.cacheEntries ?? 2048);
  const concurrency = Math.max(1, o.concurrency ?? 16);
  let images = 0;
  let cacheHits = 0;
  let decoded = 0;
  let decodeMs = 0;
  let cropMs = 0;
  const per = INPUT_SIZE * INPUT_SIZE * 3;

  const load: FaceBatchLoader = async (faces: readonly LabelledFace[], augmentation, step) => {
    const out = new Float32Array(faces.length * per);
    const resized: (RgbImage | undefined)[] = faces.map((f) => cache.get(f.image));
    const missing = [...new Set(faces.filter((_, i) => resized[i] === undefined).map((f) => f.image))];
    cacheHits += faces.length - faces.filter((_, i) => resized[i] === undefined).length;
    const t0 = performance.now();
    const fresh = new Map<string, RgbImage>();
    for (let i = 0; i < missing.length; i += concurrency) {
      const chunk = missing.slice(i, i + concurrency);
      const got = await Promise.all(chunk.map(loadResized));
      chunk.forEach((file, j) => {
        fresh.set(file, got[j]!);
        cache.set(file, got[j]!);
      });
    }
    decoded += missing.length;
    const t1 = performance.now();
    faces.forEach((f, i) => {
      const img = resized[i] ?? fresh.get(f.image)!;
      cropInto(img, cropPlan(img.height, img.width, augmentation, step, i), out, i * per);
    });
    images += faces.length;
    decodeMs += t1 - t0;
    cropMs += performance.now() - t1;
    return out;
  };
  return Object.assign(load, {
    stats: (): FaceBatchLoaderStats => ({ images, cacheHits, decoded, decodeMs, cropMs }),
    clear: (): void => cache.clear(),
  });
}
