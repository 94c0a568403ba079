/**
 * Hides faces in a packed RGB24 frame for privacy-safe snapshots: each face box, grown by a
 * quarter of its size on every side (hair, ears, chin), becomes a mosaic of blocks of its mean
 * colour, about FACE_BLOCKS blocks across the face. A mosaic this coarse keeps where a face is and
 * roughly its colour, not who it is; unlike a Gaussian blur of moderate radius it cannot be
 * sharpened back. Only the faces the detector found in that frame are hidden.
 */

/** Mosaic blocks across a face's width. */
export const FACE_BLOCKS = 6;
/** Each side of a box grows by this fraction of the box's width or height. */
export const FACE_MARGIN = 0.25;

/** The region of the frame a face box (in frame pixels) hides: grown by FACE_MARGIN and clipped. */
export function hiddenRegion(box: readonly [number, number, number, number], width: number, height: number): [number, number, number, number] {
  const [x, y, w, h] = box;
  const x0 = Math.max(0, Math.floor(x - w * FACE_MARGIN));
  const y0 = Math.max(0, Math.floor(y - h * FACE_MARGIN));
  const x1 = Math.min(width, Math.ceil(x + w * (1 + FACE_MARGIN)));
  const y1 = Math.min(height, Math.ceil(y + h * (1 + FACE_MARGIN)));
  return [x0, y0, Math.max(0, x1 - x0), Math.max(0, y1 - y0)];
}

/** A copy of `image` with every box (frame pixels: x, y, w, h) pixelated; the input is not changed. */
export function blurFaces(
  image: { readonly data: Uint8Array; readonly width: number; readonly height: number },
  boxes: readonly (readonly [number, number, number, number])[],
): { data: Uint8Array; width: number; height: number } {
  const { width, height } = image;
  const data = image.data.slice();
  for (const box of boxes) {
    if (!box.every(Number.isFinite)) continue;
    const [rx, ry, rw, rh] = hiddenRegion(box, width, height);
    if (rw === 0 || rh === 0) continue;
    const block = Math.max(4, Math.ceil(Math.max(1, box[2]) / FACE_BLOCKS));
    for (let by = ry; by < ry + rh; by += block) {
      const bh = Math.min(block, ry + rh - by);
      for (let bx = rx; bx < rx + rw; bx += block) {
        const bw = Math.min(block, rx + rw - bx);
        let r = 0;
        let g = 0;
        let b = 0;
        for (let yy = by; yy < by + bh; yy++) {
          for (let i = (yy * width + bx) * 3, end = i + bw * 3; i < end; i += 3) {
            r += data[i]!;
            g += data[i + 1]!;
            b += data[i + 2]!;
          }
        }
        const n = bw * bh;
        const mr = Math.round(r / n);
        const mg = Math.round(g / n);
        const mb = Math.round(b / n);
        for (let yy = by; yy < by + bh; yy++) {
          for (let i = (yy * width + bx) * 3, end = i + bw * 3; i < end; i += 3) {
            data[i] = mr;
            data[i + 1] = mg;
            data[i + 2] = mb;
          }
        }
      }
    }
  }
  return { data, width, height };
}
