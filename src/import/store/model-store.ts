/**
 * The model store: named model directories a user pulled or added, under
 * `$XDG_DATA_HOME/affect-daemon/models` (or `~/.local/share/…`). Each model is an ordinary model
 * directory plus `store.json` (what was fetched from where, when, with which hash, under which
 * licence). Partial downloads live in `.downloads/` and never look like an installed model;
 * hashes seen on a first pull are kept in `.hashes.json` so a later pull notices a changed file.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AnalyticsError, ErrorCodes } from '../../core/errors.js';
import { MODEL_NAME } from '../../core/model-names.js';
import { FileRefusedError, readRegularText } from '../../core/read-regular-file.js';

export const STORE_RECORD = 'store.json';
const HASHES = '.hashes.json';

export { defaultStoreDir } from '../../core/model-names.js';

export const storeRecordSchema = z.strictObject({
  name: z.string().regex(MODEL_NAME),
  kind: z.enum(['cnn', 'cnn-rnn', 'backbone', 'ferplus-expressions']),
  how: z.enum(['pull', 'add']),
  description: z.string(),
  licence: z.string(),
  trainedOn: z.array(z.string()),
  reported: z.string(),
  repository: z.string().optional(),
  installedAt: z.iso.datetime({ offset: true }),
  files: z.array(
    z.strictObject({
      name: z.string(),
      /** Where it came from: the URL (query stripped: share links carry tokens) or the local file added. */
      source: z.string(),
      bytes: z.int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      /** Whether the hash matched one pinned in the catalogue or recorded by an earlier pull. */
      hashCheck: z.enum(['pinned', 'recorded-earlier', 'first-seen']),
      fetchedAt: z.iso.datetime({ offset: true }),
    }),
  ),
});
export type StoreRecord = z.infer<typeof storeRecordSchema>;

export class ModelStore {
  constructor(readonly dir: string) {}

  private checkName(name: string): void {
    if (!MODEL_NAME.test(name)) throw new AnalyticsError(ErrorCodes.BAD_REQUEST, `${JSON.stringify(name)}: model names are lower-case letters, digits, dots, dashes and underscores`);
  }

  modelDir(name: string): string {
    this.checkName(name);
    return path.join(this.dir, name);
  }

  downloadsDir(name: string): string {
    this.checkName(name);
    return path.join(this.dir, '.downloads', name);
  }

  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
  }

  async has(name: string): Promise<boolean> {
    try {
      return (await stat(path.join(this.modelDir(name), STORE_RECORD))).isFile();
    } catch {
      return false;
    }
  }

  async record(name: string): Promise<StoreRecord> {
    const raw = await readRegularText(path.join(this.modelDir(name), STORE_RECORD), { maxBytes: 1024 * 1024 });
    return storeRecordSchema.parse(JSON.parse(raw));
  }

  async list(): Promise<{ name: string; record: StoreRecord | undefined; bytes: number }[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: { name: string; record: StoreRecord | undefined; bytes: number }[] = [];
    for (const name of entries.sort()) {
      if (name.startsWith('.') || !MODEL_NAME.test(name)) continue;
      const s = await stat(path.join(this.dir, name)).catch(() => undefined);
      if (s?.isDirectory() !== true) continue;
      const record = await this.record(name).catch(() => undefined);
      out.push({ name, record, bytes: await sizeOfTree(path.join(this.dir, name)) });
    }
    return out;
  }

  /** Moves a complete staging directory into place as `name`, replacing an older copy only after. */
  async install(name: string, staged: string): Promise<void> {
    const dest = this.modelDir(name);
    const old = `${staged}.old`;
    const had = await stat(dest).then(() => true, () => false);
    if (had) await rename(dest, old);
    try {
      await rename(staged, dest);
    } catch (err) {
      if (had) await rename(old, dest);
      throw err;
    }
    if (had) await rm(old, { recursive: true, force: true });
  }

  async remove(name: string): Promise<void> {
    if (!(await this.has(name))) throw new AnalyticsError(ErrorCodes.MODEL_NOT_FOUND, `the store (${this.dir}) holds no model named ${name}`);
    const trash = path.join(this.dir, `.removing-${name}-${process.pid}`);
    await rename(this.modelDir(name), trash);
    await rm(trash, { recursive: true, force: true });
    await rm(this.downloadsDir(name), { recursive: true, force: true });
  }

  /** Hashes recorded by earlier pulls, keyed by `model/file`. */
  async recordedHashes(): Promise<Record<string, string>> {
    try {
      const raw = await readRegularText(path.join(this.dir, HASHES), { maxBytes: 1024 * 1024 });
      return z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)).parse(JSON.parse(raw));
    } catch (err) {
      if (err instanceof FileRefusedError && err.reason === 'missing') return {};
      throw err;
    }
  }

  async recordHashes(add: Record<string, string>): Promise<void> {
    const all = { ...(await this.recordedHashes()), ...add };
    const tmp = path.join(this.dir, `${HASHES}.${process.pid}.tmp`);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(all, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(this.dir, HASHES));
  }
}

async function sizeOfTree(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await sizeOfTree(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

/**
 * What `--model X` names: a path (it contains a slash or starts with a dot, or exists as a
 * directory) or a model of the store. A missing name says which pull provides it.
 */
export async function resolveModelRef(ref: string, store: ModelStore, pullable: readonly string[] = []): Promise<string> {
  const looksLikePath = ref.includes('/') || ref.includes(path.sep) || ref.startsWith('.') || !MODEL_NAME.test(ref);
  if (looksLikePath) return path.resolve(ref);
  const local = await stat(ref).then((s) => s.isDirectory(), () => false);
  if (local) return path.resolve(ref);
  if (await store.has(ref)) return store.modelDir(ref);
  const hint = pullable.includes(ref) ? `run \`daemon models pull ${ref}\` first` : `\`daemon models list\` shows what the store holds; \`daemon models pull\` fetches ${pullable.length > 0 ? pullable.join(', ') : 'the catalogue\'s models'}`;
  throw new AnalyticsError(ErrorCodes.MODEL_NOT_FOUND, `model ${JSON.stringify(ref)}: not a directory, and the model store (${store.dir}) holds no model of that name: ${hint}`);
}
