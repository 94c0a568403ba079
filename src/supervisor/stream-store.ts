import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { streamSchema, type StreamConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';

const fileSchema = z.strictObject({ version: z.literal(1), streams: z.array(streamSchema) });

/**
 * API-added streams kept across daemon restarts. The file holds source URLs with their
 * credentials, so it is written 0600, and atomically (temp file + rename) so a crash mid-write
 * never leaves a truncated file.
 */
export class StreamStore {
  constructor(readonly file: string) {}

  load(): StreamConfig[] {
    if (!existsSync(this.file)) return [];
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new ConfigError([`persistence.file ${this.file}: not valid JSON (${(err as Error).message})`]);
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      throw new ConfigError(parsed.error.issues.map((i) => `persistence.file ${this.file}: ${i.path.join('.')}: ${i.message}`));
    }
    return parsed.data.streams;
  }

  save(streams: readonly StreamConfig[]): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, streams }, null, 2) + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
