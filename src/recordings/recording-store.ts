import { accessSync, chmodSync, constants, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { EVENTS_FILE, META_FILE, RECORDING_ID_PATTERN, VIDEO_FILE, recordingMetaSchema, type RecordingMeta } from './recording-meta.js';

/**
 * The recordings directory: one directory per recording (0700), named by its id, holding
 * meta.json, video.mp4 and events.jsonl (0600, like the state file: they show faces). Every path is
 * built here, from an id that matched RECORDING_ID_PATTERN; nothing else becomes a path.
 */
export class RecordingStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /** Creates the directory if needed; a directory that cannot be used is a configuration error, found at boot. */
  init(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new ConfigError([`recordings.dir ${this.dir}: cannot be created (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
    if (!statSync(this.dir).isDirectory()) throw new ConfigError([`recordings.dir ${this.dir}: not a directory`]);
    try {
      accessSync(this.dir, constants.W_OK | constants.X_OK);
    } catch {
      throw new ConfigError([`recordings.dir ${this.dir}: not writable`]);
    }
  }

  /** The recording's directory; undefined for anything that is not a recording id. */
  dirOf(id: string): string | undefined {
    return RECORDING_ID_PATTERN.test(id) ? path.join(this.dir, id) : undefined;
  }

  videoPath(id: string): string | undefined {
    const d = this.dirOf(id);
    return d && path.join(d, VIDEO_FILE);
  }

  eventsPath(id: string): string | undefined {
    const d = this.dirOf(id);
    return d && path.join(d, EVENTS_FILE);
  }

  /** Makes the recording's directory (which must not exist) and writes its metadata. */
  create(meta: RecordingMeta): void {
    const d = this.dirOf(meta.id);
    if (!d) throw new Error(`not a recording id: ${meta.id}`);
    mkdirSync(d, { mode: 0o700 });
    this.save(meta);
  }

  /** Replaces meta.json atomically (temp file + rename): a crash leaves the old one or the new one. */
  save(meta: RecordingMeta): void {
    const d = this.dirOf(meta.id);
    if (!d) throw new Error(`not a recording id: ${meta.id}`);
    const file = path.join(d, META_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(meta, null, 2) + '\n', { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Every recording whose metadata can be read; `bad` names the directories that could not. */
  list(): { readonly recordings: RecordingMeta[]; readonly bad: { name: string; why: string }[] } {
    const recordings: RecordingMeta[] = [];
    const bad: { name: string; why: string }[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      if (!RECORDING_ID_PATTERN.test(name)) continue;
      const d = path.join(this.dir, name);
      try {
        // A symlink planted in the directory is not followed: it is nobody's recording.
        if (!lstatSync(d).isDirectory()) throw new Error('not a directory');
        const meta = recordingMetaSchema.parse(JSON.parse(readFileSync(path.join(d, META_FILE), 'utf8')));
        if (meta.id !== name) throw new Error(`meta.json names ${meta.id}`);
        recordings.push(meta);
      } catch (err) {
        bad.push({ name, why: err instanceof Error ? err.message.split('\n')[0]! : String(err) });
      }
    }
    return { recordings, bad };
  }

  /** Removes a recording's directory and everything in it; false if there was none. */
  remove(id: string): boolean {
    const d = this.dirOf(id);
    if (!d) return false;
    try {
      if (!lstatSync(d).isDirectory()) return false;
    } catch {
      return false;
    }
    rmSync(d, { recursive: true, force: true });
    return true;
  }

  /** Bytes a recording takes on disk (video + events + metadata). */
  bytesOf(id: string): number {
    const d = this.dirOf(id);
    if (!d) return 0;
    let total = 0;
    for (const f of [VIDEO_FILE, EVENTS_FILE, META_FILE]) {
      try {
        total += lstatSync(path.join(d, f)).size;
      } catch {
        // not written (yet)
      }
    }
    return total;
  }
}
