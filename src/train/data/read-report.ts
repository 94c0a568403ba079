/**
 * What a reader kept and skipped (ReadReport), and the error a malformed annotation file raises:
 * it always names the file and the 1-based line.
 */
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AnalyticsError, ErrorCodes } from '../../core/errors.js';
import type { ReadReport } from './types.js';

export class DataFormatError extends AnalyticsError {
  constructor(file: string, line: number | undefined, problem: string, options: { cause?: unknown } = {}) {
    super(ErrorCodes.DATA_FORMAT, `${file}${line !== undefined ? `:${line}` : ''}: ${problem}`, { ...options, context: { file, ...(line !== undefined ? { line } : {}) } });
  }
}

/** Label files and manifests larger than this are not read (Aff-Wild2's largest is a few MB). */
export const MAX_DATA_FILE_BYTES = 1 << 30;

/**
 * Reads a data file whole; a file that cannot be read is a DataFormatError naming it and `what` it
 * is. Opened without blocking and read only as a regular file within MAX_DATA_FILE_BYTES: a FIFO
 * or a link to /dev/zero named like a manifest would otherwise hang the run or exhaust memory.
 */
export async function readDataFile(file: string, what: string): Promise<Buffer> {
  try {
    const fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('not a regular file');
      if (st.size > MAX_DATA_FILE_BYTES) throw new Error(`${st.size} bytes, over the ${MAX_DATA_FILE_BYTES >> 20} MiB limit`);
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new DataFormatError(file, undefined, `cannot read the ${what} (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/** Accumulates skip reasons with a count and the first example of each. */
export class ReportBuilder {
  private kept = 0;
  private readonly skips = new Map<string, { count: number; example?: string }>();

  constructor(private readonly source: string) {}

  keep(n = 1): void {
    this.kept += n;
  }

  skip(reason: string, example?: string, n = 1): void {
    const s = this.skips.get(reason);
    if (s) s.count += n;
    else this.skips.set(reason, example !== undefined ? { count: n, example } : { count: n });
  }

  build(): ReadReport {
    return {
      source: this.source,
      kept: this.kept,
      skipped: [...this.skips].map(([reason, s]) => (s.example !== undefined ? { reason, count: s.count, example: s.example } : { reason, count: s.count })),
    };
  }
}

/** One line per report: "source: kept N; skipped M (reason ×count, …)". */
export function formatReport(r: ReadReport): string {
  const skipped = r.skipped.reduce((a, s) => a + s.count, 0);
  const reasons = r.skipped.map((s) => `${s.reason} ×${s.count}${s.example !== undefined ? ` e.g. ${s.example}` : ''}`).join('; ');
  return `${r.source}: kept ${r.kept}${skipped > 0 ? `, skipped ${skipped} (${reasons})` : ''}`;
}

/** Splits a text file into lines, tolerating CRLF and a final newline. */
export function textLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A strict decimal number (no empty strings, hex, or trailing junk, which Number() would accept). */
export function parseNumber(s: string): number | undefined {
  const t = s.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}
