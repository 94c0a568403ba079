import { inflateSync } from 'fflate';
import { badFormat, corrupt, unsupported } from './errors.js';

/**
 * Reads a zip's central directory and hands out entries without copying stored ones. Written
 * here rather than using fflate's `unzipSync` so that torch's stored 64-byte-aligned entries stay
 * zero-copy, CRC mismatches become typed errors, and ZIP64 records are understood.
 */

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

const utf8 = new TextDecoder('utf-8');

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

class Bounded {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(at: number, n: number, what: string): void {
    if (!Number.isSafeInteger(at) || at < 0 || at + n > this.bytes.length) {
      throw corrupt(this.source, `zip ${what} lies outside the file (truncated?)`);
    }
  }
  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  u64(at: number): number {
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(this.source, 'zip64 field out of range');
    return Number(v);
  }
}

function findEocd(z: Bounded): number {
  const min = Math.max(0, z.bytes.length - 22 - 0xffff);
  for (let at = z.bytes.length - 22; at >= min; at--) {
    if (z.u32(at) === SIG_EOCD) return at;
  }
  throw corrupt(z.source, 'zip end-of-central-directory record not found (truncated?)');
}

export function readZipDirectory(bytes: Uint8Array, source: string): Map<string, ZipEntry> {
  const z = new Bounded(bytes, source);
  if (bytes.length < 22) throw corrupt(source, 'zip archive is too short');
  const eocd = findEocd(z);
  let count = z.u16(eocd + 10);
  let cdSize = z.u32(eocd + 12);
  let cdOffset = z.u32(eocd + 16);
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const loc = eocd - 20;
    z.check(loc, 20, 'zip64 locator');
    if (z.u32(loc) !== SIG_EOCD64_LOCATOR) throw corrupt(source, 'zip64 locator missing');
    const e64 = z.u64(loc + 8);
    z.check(e64, 56, 'zip64 end record');
    if (z.u32(e64) !== SIG_EOCD64) throw corrupt(source, 'zip64 end record missing');
    count = z.u64(e64 + 32);
    cdSize = z.u64(e64 + 40);
    cdOffset = z.u64(e64 + 48);
  }
  z.check(cdOffset, cdSize, 'central directory');
  const entries = new Map<string, ZipEntry>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    z.check(at, 46, 'central directory entry');
    if (z.u32(at) !== SIG_CENTRAL) throw corrupt(source, `zip central directory entry ${i} has a bad signature`);
    const flags = z.u16(at + 8);
    const method = z.u16(at + 10);
    const crc32 = z.u32(at + 16);
    let compressedSize = z.u32(at + 20);
    let size = z.u32(at + 24);
    const nameLen = z.u16(at + 28);
    const extraLen = z.u16(at + 30);
    const commentLen = z.u16(at + 32);
    let localHeaderOffset = z.u32(at + 42);
    z.check(at + 46, nameLen + extraLen + commentLen, 'central directory entry');
    if ((flags & 0x1) !== 0) throw unsupported(source, 'zip entry is encrypted');
    const name = utf8.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    // ZIP64 extra field (id 1): 64-bit values for exactly those fields that hold 0xffffffff.
    let x = at + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = z.u16(x);
      const len = z.u16(x + 2);
      if (id === 0x0001) {
        let p = x + 4;
        const next = (): number => {
          if (p + 8 > x + 4 + len) throw corrupt(source, `zip64 extra field of ${name} is short`);
          const v = z.u64(p);
          p += 8;
          return v;
        };
        if (size === U32_MAX) size = next();
        if (compressedSize === U32_MAX) compressedSize = next();
        if (localHeaderOffset === U32_MAX) localHeaderOffset = next();
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, crc32, localHeaderOffset });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, source: string): Uint8Array {
  const z = new Bounded(bytes, source);
  const at = entry.localHeaderOffset;
  z.check(at, 30, `local header of ${entry.name}`);
  if (z.u32(at) !== SIG_LOCAL) throw corrupt(source, `zip local header of ${entry.name} has a bad signature`);
  const dataAt = at + 30 + z.u16(at + 26) + z.u16(at + 28);
  z.check(dataAt, entry.compressedSize, `data of ${entry.name}`);
  const raw = bytes.subarray(dataAt, dataAt + entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) {
    data = raw;
  } else if (entry.method === 8) {
    // Deflate cannot expand more than ~1032:1; a larger claim is a decompression bomb or garbage.
    if (entry.size > entry.compressedSize * 1032 + 1024) throw corrupt(source, `zip entry ${entry.name} claims an impossible size`);
    try {
      data = inflateSync(raw, { out: new Uint8Array(entry.size) });
    } catch (err) {
      throw corrupt(source, `zip entry ${entry.name} does not inflate`, err);
    }
  } else {
    throw unsupported(source, `zip entry ${entry.name} uses compression method ${entry.method}`);
  }
  if (data.length !== entry.size) throw corrupt(source, `zip entry ${entry.name} has ${data.length} bytes, expected ${entry.size}`);
  if (crc32(data) !== entry.crc32) throw corrupt(source, `zip entry ${entry.name} fails its CRC-32 check`);
  return data;
}

export function crc32(data: Uint8Array): number {
  const table = CRC_TABLE;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (table[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function makeCrcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

const CRC_TABLE = makeCrcTable();

/** For archives that are zips but not what the caller expected. */
export function notTorchZip(source: string, why: string): Error {
  return badFormat(source, `zip archive is not a PyTorch checkpoint: ${why}`);
}
