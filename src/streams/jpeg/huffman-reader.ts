/**
 * The entropy-coded bits of a JPEG scan, read as libjpeg reads them (jdhuff.c): FF 00 is a data
 * byte FF, any other marker ends the data. Past a marker or the end of the file the reader supplies
 * zero bits as libjpeg does, but consuming one of them is an error here: libjpeg only warns and
 * decodes the zeros into a concealed picture, which a model scores as confidently as a face.
 */

/** A Huffman table as a 16-bit lookup: entry = (code length << 8) | symbol, 0 = no such code. */
export interface HuffmanTable {
  readonly lookup: Uint16Array;
}

/**
 * A DHT table as defined: its code lengths checked, its lookup built only when a scan uses it
 * (as libjpeg derives its tables at each scan's start). Building the 64 Ki-entry lookup for each
 * definition cost ≈ 35 µs, so a file of 18-byte DHT tables took seconds per megabyte.
 */
export interface HuffmanSpec {
  readonly counts: Uint8Array;
  readonly symbols: Uint8Array;
  table: HuffmanTable | undefined;
}

/** The table of a DHT segment's 16 counts and its symbols, or an error when the counts describe no prefix code. */
export function huffmanSpec(counts: ArrayLike<number>, symbols: ArrayLike<number>): HuffmanSpec {
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    code += counts[len - 1] ?? 0;
    // More codes of this length than fit in `len` bits (jdhuff.c jpeg_make_d_derived_tbl).
    if (code > 1 << len) throw new Error('bad Huffman table (its codes overflow)');
    code <<= 1;
  }
  return { counts: Uint8Array.from(counts), symbols: Uint8Array.from(symbols), table: undefined };
}

/** The spec's lookup, built on first use. */
export function huffmanTable(spec: HuffmanSpec): HuffmanTable {
  spec.table ??= buildHuffmanTable(spec.counts, spec.symbols);
  return spec.table;
}

/** Builds the table from a DHT segment's 16 counts and its symbols (jdhuff.c jpeg_make_d_derived_tbl). */
export function buildHuffmanTable(counts: ArrayLike<number>, symbols: ArrayLike<number>): HuffmanTable {
  const lookup = new Uint16Array(1 << 16);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1] ?? 0;
    for (let i = 0; i < n; i++, k++) {
      // A code that no longer fits in `len` bits: the counts describe no prefix code.
      if (code >= 1 << len) throw new Error('bad Huffman table (its codes overflow)');
      const shift = 16 - len;
      const entry = (len << 8) | (symbols[k] ?? 0);
      lookup.fill(entry, code << shift, (code + 1) << shift);
      code++;
    }
    code <<= 1;
  }
  return { lookup };
}

export class HuffmanReader {
  private pos: number;
  private buf = 0;
  private bits = 0;
  /** The low bits of `buf` that are fillers past the data (a marker or the end of the file). */
  private pad = 0;

  constructor(
    private readonly data: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  /** Offset of the first byte not yet taken into the bit buffer. */
  get offset(): number {
    return this.pos;
  }

  private fill(): void {
    while (this.bits <= 24) {
      let byte = 0;
      const d = this.data;
      if (this.pad > 0 || this.pos >= d.length) {
        this.pad += 8;
      } else if (d[this.pos] !== 0xff) {
        byte = d[this.pos++]!;
      } else {
        // Fill bytes (FF FF …) may precede a marker.
        let p = this.pos + 1;
        while (p < d.length && d[p] === 0xff) p++;
        if (p < d.length && d[p] === 0x00) {
          byte = 0xff;
          this.pos = p + 1;
        } else {
          this.pad += 8;
        }
      }
      this.buf = ((this.buf << 8) | byte) >>> 0;
      this.bits += 8;
    }
  }

  private consume(n: number): void {
    this.bits -= n;
    if (this.bits < this.pad) throw new Error('the scan ends before its last block (truncated or corrupt data)');
  }

  /** `n` (0–16) raw bits, most significant first. */
  bitsOf(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) this.fill();
    const v = (this.buf >>> (this.bits - n)) & ((1 << n) - 1);
    this.consume(n);
    return v;
  }

  bit(): number {
    return this.bitsOf(1);
  }

  /** The next Huffman symbol. */
  symbol(t: HuffmanTable): number {
    if (this.bits < 16) this.fill();
    const entry = t.lookup[(this.buf >>> (this.bits - 16)) & 0xffff]!;
    if (entry === 0) {
      // A code no table entry has: libjpeg warns and reads a zero; this is corrupt data.
      if (this.bits - 16 < this.pad) throw new Error('the scan ends before its last block (truncated or corrupt data)');
      throw new Error('corrupt data: a Huffman code the table does not define');
    }
    this.consume(entry >> 8);
    return entry & 0xff;
  }

  /** `s` bits as a signed value (HUFF_EXTEND). */
  receiveExtend(s: number): number {
    if (s === 0) return 0;
    const v = this.bitsOf(s);
    return v < 1 << (s - 1) ? v + (-1 << s) + 1 : v;
  }

  /**
   * At a restart interval's end: drops the bits left in the current byte and steps over the
   * expected RSTn marker (libjpeg resynchronises on a wrong one; here that is corrupt data).
   */
  restart(n: number): void {
    this.buf = 0;
    this.bits = 0;
    this.pad = 0;
    const d = this.data;
    let p = this.pos;
    // Bytes before the marker are skipped, as libjpeg skips them (with a warning).
    while (p + 1 < d.length && !(d[p] === 0xff && d[p + 1] !== 0x00 && d[p + 1] !== 0xff)) p++;
    if (!(d[p] === 0xff && d[p + 1] === 0xd0 + (n & 7))) throw new Error(`corrupt data: restart marker RST${n & 7} missing`);
    this.pos = p + 2;
  }

  /** After the scan's last block: the offset of the marker that follows its data (extra bytes are skipped, as libjpeg does). */
  end(): number {
    const d = this.data;
    let p = this.pos;
    while (p + 1 < d.length && !(d[p] === 0xff && d[p + 1] !== 0x00 && d[p + 1] !== 0xff && !(d[p + 1]! >= 0xd0 && d[p + 1]! <= 0xd7))) p++;
    return p;
  }
}
