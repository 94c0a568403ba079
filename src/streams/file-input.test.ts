import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mediaDir } from '../../test/helpers/media.js';
import { declaredImageSize } from './file-input.js';

describe('declaredImageSize', () => {
  it('reads the size a JPEG declares in its frame header', () => {
    expect(declaredImageSize(readFileSync(path.join(mediaDir, 'multi_face.jpg')))).toEqual({ width: 1000, height: 667 });
  });

  it('reads the size of a PNG from its IHDR, and knows nothing of other bytes', () => {
    const png = Buffer.alloc(33);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    png.writeUInt32BE(16000, 16);
    png.writeUInt32BE(9000, 20);
    expect(declaredImageSize(png)).toEqual({ width: 16000, height: 9000 });
    expect(declaredImageSize(Buffer.from('#EXTM3U\n'))).toBeUndefined();
    expect(declaredImageSize(Buffer.from([0xff, 0xd8, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
  });
});
