import { accessSync, chmodSync, constants, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { streamSchema, type StreamConfig } from '../config/schema.js';
import { ConfigError, ErrorCodes, PersistenceError } from '../core/errors.js';

const fileSchema = z.strictObject({ version: z.literal(1), streams: z.array(streamSchema) });

/**
 * API-added streams kept across daemon restarts. The file holds source URLs with their
 * credentials, so it is written 0600, and atomically (temp file + rename) so a crash mid-write
 * never leaves a truncated file: the previous file stays until a complete new one replaces it.
 */
export class StreamStore {
  constructor(readonly file: string) {}

  /**
   * Reads the persisted streams, checking first that they can be written back: a state file that
   * cannot be read or replaced is a configuration problem, found at boot rather than at the first
   * POST. Throws ConfigError listing what is wrong.
   */
  load(): StreamConfig[] {
    const problem = (what: string): ConfigError => new ConfigError([`persistence.file ${this.file}: ${what}`]);
    const dir = path.dirname(path.resolve(this.file));
    let dirStat;
    try {
      dirStat = statSync(dir);
    } catch {
      throw problem(`its directory ${dir} does not exist`);
    }
    if (!dirStat.isDirectory()) throw problem(`${dir} is not a directory`);
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch {
      throw problem(`its directory ${dir} is not writable`);
    }
    let stat;
    try {
      stat = statSync(this.file);
    } catch {
      return []; // No file yet: nothing was persisted.
    }
    if (!stat.isFile()) throw problem('is not a regular file');
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      throw problem(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (text.trim() === '') throw problem('is empty (expected {"version": 1, "streams": [...]})');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw problem(`not valid JSON (${(err as Error).message})`);
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      throw new ConfigError(parsed.error.issues.map((i) => `persistence.file ${this.file}: ${i.path.join('.')}: ${i.message}`));
    }
    return parsed.data.streams;
  }

  /** Replaces the file atomically; throws PersistenceError (the old file is then untouched). */
  save(streams: readonly StreamConfig[]): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ version: 1, streams }, null, 2) + '\n', { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, this.file);
    } catch (err) {
      rmSync(tmp, { force: true });
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new PersistenceError(ErrorCodes.PERSISTENCE, `the stream state file ${this.file} could not be written (${code}); the change was not made`, { cause: err });
    }
  }
}
