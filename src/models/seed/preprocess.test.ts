import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend.js';
import { tf, type Tensor4D } from '../tf.js';
import { MEAN_RGB } from './constants.js';
import { SeedModelError } from './errors.js';
import { pilResizeBilinear } from './pil-resize.js';
import { preprocessFace, preprocessFacePixels, preprocessFacePixelsBatch, preprocessFaces, preprocessGeometry } from './preprocess.js';

function gradientFace(h: number, w: number): Uint8Array {
  const d = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) d[(y * w + x) * 3 + c] = (x * 7 + y * 3 + c * 50) % 256;
  return d;
}

describe('preprocessGeometry (torchvision Resize(134) + CenterCrop(112))', () => {
  it('maps a square 112 face to 134×134 cropped at 11', () => {
    expect(preprocessGeometry(112, 112)).toEqual({ resizedHeight: 134, resizedWidth: 134, top: 11, left: 11 });
    expect(preprocessGeometry(134, 134)).toEqual({ resizedHeight: 134, resizedWidth: 134, top: 11, left: 11 });
    expect(preprocessGeometry(300, 300)).toEqual({ resizedHeight: 134, resizedWidth: 134, top: 11, left: 11 });
  });

  it('keeps the aspect ratio with int() truncation and rounds crop offsets half-to-even', () => {
    // portrait: width → 134, height int(134·200/100) = 268, top round(78) = 78
    expect(preprocessGeometry(200, 100)).toEqual({ resizedHeight: 268, resizedWidth: 134, top: 78, left: 11 });
    // landscape: width int(134·150/100) = 201, left round(44.5) = 44 (Python rounds halves to even)
    expect(preprocessGeometry(100, 150)).toEqual({ resizedHeight: 134, resizedWidth: 201, top: 11, left: 44 });
    // width int(134·113/112) = 135, left round(11.5) = 12
    expect(preprocessGeometry(112, 113)).toEqual({ resizedHeight: 134, resizedWidth: 135, top: 11, left: 12 });
  });
});

describe('pilResizeBilinear (Pillow fixed-point port)', () => {
  it('reproduces a hand-computed 2 → 4 upscale', () => {
    // Output centres 0.25, 0.75, 1.25, 1.75: edge pixels see one source pixel, the inner ones
    // weights (0.75, 0.25) and (0.25, 0.75): 63.75 → 64, 191.25 → 191.
    expect([...pilResizeBilinear(new Uint8Array([0, 255]), 1, 2, 1, 1, 4)]).toEqual([0, 64, 191, 255]);
    expect([...pilResizeBilinear(new Uint8Array([0, 255]), 2, 1, 1, 4, 1)]).toEqual([0, 64, 191, 255]);
  });

  it('keeps constant images constant and is the identity at the same size', () => {
    const flat = new Uint8Array(5 * 5 * 3).fill(77);
    expect(pilResizeBilinear(flat, 5, 5, 3, 9, 7).every((v) => v === 77)).toBe(true);
    const g = gradientFace(6, 6);
    expect(pilResizeBilinear(g, 6, 6, 3, 6, 6)).toEqual(g);
  });
});

describe('preprocessing', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('crops rows/cols 11…122 of a 134 face and subtracts the RGB mean', () => {
    const data = gradientFace(134, 134);
    const out = preprocessFacePixels({ data, height: 134, width: 134 });
    expect(out).toHaveLength(112 * 112 * 3);
    for (const [y, x, c] of [[0, 0, 0], [111, 111, 2], [50, 7, 1]] as const) {
      const src = data[((y + 11) * 134 + (x + 11)) * 3 + c] ?? NaN;
      expect(out[(y * 112 + x) * 3 + c]).toBeCloseTo(src - MEAN_RGB[c], 4);
    }
  });

  it('tensor path equals the exact path without resize and stays within one level with it', () => {
    const before = tf.memory().numTensors;
    for (const size of [134, 112]) {
      const data = gradientFace(size, size);
      const exact = preprocessFacePixelsBatch([{ data, height: size, width: size }, { data, height: size, width: size }]);
      const raw = tf.tensor4d(Int32Array.from([...data, ...data]), [2, size, size, 3], 'int32');
      const approx = preprocessFaces(raw);
      expect(approx.shape).toEqual([2, 112, 112, 3]);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(exact, approx))).dataSync()[0] ?? NaN);
      if (size === 134) expect(diff).toBeLessThan(1e-4);
      else expect(diff).toBeLessThanOrEqual(1 + 1e-4);
      tf.dispose([exact, raw, approx]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('handles a single face tensor and rejects non-RGB input with a typed error', () => {
    const before = tf.memory().numTensors;
    const face = tf.fill([112, 112, 3], 128, 'int32') as tf.Tensor3D;
    const out = preprocessFace(face);
    expect(out.shape).toEqual([112, 112, 3]);
    expect(out.dataSync()[0]).toBeCloseTo(128 - MEAN_RGB[0], 4);
    const grey = tf.zeros([1, 112, 112, 1]) as Tensor4D;
    expect(() => preprocessFaces(grey)).toThrow(SeedModelError);
    expect(() => preprocessFacePixels({ data: new Uint8Array(10), height: 112, width: 112 })).toThrow(/bytes/);
    tf.dispose([face, out, grey]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
