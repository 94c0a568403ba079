/**
 * Writes prediction rows to `--out` as JSON Lines or CSV (by extension). Rows go to
 * `<out>.partial` with synchronous writes (the pipeline callback that produces them is
 * synchronous too) and the file is renamed into place only on success, so a failed run never
 * leaves a plausible-looking but truncated result.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import { csvHeader, csvLine, csvValues, type CsvLayout, type PredictionRow } from './rows.js';

export type RowFormat = 'jsonl' | 'csv';

export function rowFormatOf(file: string): RowFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `--out ${file}: the file name must end in .jsonl or .csv (it selects the format)`);
}

export class RowWriter {
  private fd: number | undefined;
  private readonly partial: string;
  rows = 0;

  private constructor(
    readonly file: string,
    readonly format: RowFormat,
    private readonly layout: CsvLayout,
  ) {
    this.partial = `${file}.partial`;
  }

  static open(file: string, layout: CsvLayout): RowWriter {
    const w = new RowWriter(file, rowFormatOf(file), layout);
    try {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      w.fd = openSync(w.partial, 'w');
    } catch (err) {
      throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `--out ${file}: cannot write (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    if (w.format === 'csv') w.line(csvLine(csvHeader(layout)));
    return w;
  }

  private line(text: string): void {
    if (this.fd === undefined) throw new Error('RowWriter is closed');
    writeSync(this.fd, text + '\n');
  }

  write(row: PredictionRow): void {
    this.line(this.format === 'jsonl' ? JSON.stringify(row) : csvLine(csvValues(row, this.layout)));
    this.rows++;
  }

  /** Success: the rows become `file`. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.partial, this.file);
  }

  /** Failure: the partial file is removed; idempotent. */
  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.partial, { force: true });
  }
}
