/**
 * `daemon models pull | add | list | rm`: the seed's released models into the model store, each
 * file checked before it is trusted (a PyTorch checkpoint of the expected kind and shapes, its
 * hash against the catalogue's pin or an earlier pull), imported with the released AU thresholds,
 * and installed only when complete.
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import { readTorchCheckpoint } from './checkpoint/index.js';
import type { StateDict } from './checkpoint/types.js';
import { ferplusBackboneWeights } from './ferplus-backbone.js';
import { writeFerplusExpressionsDir } from './ferplus-expressions.js';
import { disposeWeights } from '../models/seed/weights.js';
import { expandName, loadCatalog, type Catalog, type CatalogFile, type PullableEntry } from './store/catalog.js';
import { downloadFile, type DownloadFileOptions } from './store/download-file.js';
import { ModelStore, STORE_RECORD, type StoreRecord } from './store/model-store.js';
import { readRegularFile } from '../core/read-regular-file.js';
import { builtinCatalogPath } from '../paths.js';
import { importSeedCommand } from './import-command.js';

export interface ModelsCommandIo {
  /** Progress and notes (stderr). */
  readonly note: (line: string) => void;
  readonly progress?: (file: string, received: number, total: number | undefined) => void;
}

export interface PullOptions {
  readonly store: ModelStore;
  readonly catalog?: string;
  readonly force?: boolean;
  /** Download settings (tests shorten timeouts and backoff, and trust a local CA). */
  readonly download?: Partial<Pick<DownloadFileOptions, 'headTimeoutMs' | 'idleTimeoutMs' | 'retries' | 'backoffMs' | 'maxRedirects' | 'ca' | 'env' | 'openSink'>>;
  readonly now?: () => Date;
}

const MAX_CHECKPOINT_BYTES = 2 * 1024 ** 3;

/** PyTorch writes a zip (PK\x03\x04) or, with the legacy serialisation, a pickle stream (\x80 then the protocol). */
export function sniffTorchCheckpoint(head: Buffer, contentType: string | undefined): string | undefined {
  if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) return undefined;
  if (head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0) <= 5) return undefined;
  const text = head.toString('latin1').trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<')) return 'an HTML or XML page';
  if (text.startsWith('{') || text.startsWith('[')) return 'a JSON document';
  return `something that is not a PyTorch checkpoint${contentType !== undefined ? ` (Content-Type ${contentType})` : ''}`;
}

export async function openCatalog(file: string | undefined): Promise<Catalog> {
  return loadCatalog(file ?? builtinCatalogPath);
}

async function checkHash(store: ModelStore, model: string, f: CatalogFile, sha256: string, recorded: Record<string, string>): Promise<StoreRecord['files'][number]['hashCheck']> {
  const key = `${model}/${f.name}`;
  if (f.sha256 !== null) {
    if (f.sha256 !== sha256) throw new AnalyticsError(ErrorCodes.DOWNLOAD, `${key}: sha256 ${sha256} does not match the catalogue's ${f.sha256}; the file at ${urlNoQuery(f.url)} is not the one the catalogue vouches for (not installed)`);
    return 'pinned';
  }
  const before = recorded[key];
  if (before !== undefined) {
    if (before !== sha256) throw new AnalyticsError(ErrorCodes.DOWNLOAD, `${key}: sha256 ${sha256} differs from ${before}, recorded when it was first pulled; the file behind ${urlNoQuery(f.url)} has changed (not installed; if the change is expected, remove the old hash from ${path.join(store.dir, '.hashes.json')})`);
    return 'recorded-earlier';
  }
  return 'first-seen';
}

const urlNoQuery = (u: string): string => {
  const x = new URL(u);
  return `${x.protocol}//${x.host}${x.pathname}`;
};

/** Pulls NAME (a model or a bundle of models) into the store. */
export async function pullModels(name: string, o: PullOptions, io: ModelsCommandIo): Promise<string[]> {
  const cat = await openCatalog(o.catalog);
  const parts = expandName(cat, name);
  await o.store.ensure();
  const installed: string[] = [];
  for (const { name: model, entry } of parts) {
    if (!o.force && (await o.store.has(model))) {
      io.note(`${model}: already in the store (${o.store.modelDir(model)}); --force pulls it again`);
      installed.push(model);
      continue;
    }
    await pullOne(model, entry, o, io);
    installed.push(model);
  }
  return installed;
}

async function pullOne(model: string, entry: PullableEntry, o: PullOptions, io: ModelsCommandIo): Promise<void> {
  const downloads = o.store.downloadsDir(model);
  await mkdir(downloads, { recursive: true });
  const recorded = await o.store.recordedHashes();
  const now = o.now ?? (() => new Date());
  const files: { file: string; f: CatalogFile; bytes: number; sha256: string; hashCheck: StoreRecord['files'][number]['hashCheck']; fetchedAt: string }[] = [];
  for (const f of entry.files) {
    io.note(`${model}: fetching ${f.name} from ${new URL(f.url).host}`);
    const r = await downloadFile({
      url: f.url,
      dest: path.join(downloads, f.name),
      maxBytes: f.maxBytes,
      sniff: sniffTorchCheckpoint,
      onProgress: (received, total) => io.progress?.(`${model}/${f.name}`, received, total),
      onRetry: (attempt, reason, delayMs) => io.note(`${model}/${f.name}: ${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1})`),
      ...o.download,
    });
    let hashCheck: StoreRecord['files'][number]['hashCheck'];
    try {
      hashCheck = await checkHash(o.store, model, f, r.sha256, recorded);
    } catch (err) {
      await rm(r.path, { force: true });
      throw err;
    }
    files.push({ file: r.path, f, bytes: r.bytes, sha256: r.sha256, hashCheck, fetchedAt: now().toISOString() });
  }
  const record: Omit<StoreRecord, 'files'> = {
    name: model,
    kind: entry.kind,
    how: 'pull',
    description: entry.description,
    licence: entry.licence,
    trainedOn: [...entry.trainedOn],
    reported: entry.reported,
    ...(entry.repository !== undefined ? { repository: entry.repository } : {}),
    installedAt: now().toISOString(),
  };
  try {
    await installChecked(model, entry.kind, entry.kind === 'cnn-rnn' ? entry.seqLen : undefined, files.map((x) => ({ file: x.file, role: x.f.role, name: x.f.name })), o.store, {
      ...record,
      files: files.map((x) => ({ name: x.f.name, source: urlNoQuery(x.f.url), bytes: x.bytes, sha256: x.sha256, hashCheck: x.hashCheck, fetchedAt: x.fetchedAt })),
    }, entry, io);
  } catch (err) {
    // A complete download that is not a checkpoint of this kind is useless: do not keep it for a "resume".
    await rm(downloads, { recursive: true, force: true });
    throw err;
  }
  await o.store.recordHashes(Object.fromEntries(files.map((x) => [`${model}/${x.f.name}`, x.sha256])));
  await rm(downloads, { recursive: true, force: true });
  io.note(`${model}: installed in ${o.store.modelDir(model)}`);
}

async function readCheckpointFile(file: string, name: string): Promise<StateDict> {
  const bytes = await readRegularFile(file, { maxBytes: MAX_CHECKPOINT_BYTES });
  try {
    return readTorchCheckpoint(bytes);
  } catch (err) {
    throw new AnalyticsError(ErrorCodes.CHECKPOINT_FORMAT, `${name}: not a readable PyTorch checkpoint (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Imports (or, for a backbone, checks and copies; for FER+ expressions, converts) the files into
 * a staging directory, then installs it.
 */
async function installChecked(
  model: string,
  kind: StoreRecord['kind'],
  seqLen: number | undefined,
  files: readonly { file: string; role: 'teacher' | 'student'; name: string }[],
  store: ModelStore,
  record: StoreRecord,
  provenance: { repository?: string | undefined; licence: string; trainedOn: readonly string[]; paper?: string | undefined; authors?: string | undefined; reportedMetrics?: Readonly<Record<string, number>> | undefined },
  io: ModelsCommandIo,
): Promise<void> {
  const staged = path.join(store.dir, `.staging-${model}-${process.pid}`);
  await rm(staged, { recursive: true, force: true });
  try {
    if (kind === 'backbone') {
      for (const f of files) {
        const sd = await readCheckpointFile(f.file, f.name);
        // The keys and shapes `daemon train`'s `init: { from: ferplus }` will need, checked now.
        disposeWeights(ferplusBackboneWeights(sd, f.name).weights);
        await mkdir(staged, { recursive: true });
        await copyFile(f.file, path.join(staged, f.name));
      }
    } else if (kind === 'ferplus-expressions') {
      const f = files[0];
      if (f === undefined || files.length !== 1) throw new AnalyticsError(ErrorCodes.CONFIG, `${model}: an expressions model from FER+ takes exactly one file`);
      const sd = await readCheckpointFile(f.file, f.name);
      await mkdir(staged, { recursive: true });
      await writeFerplusExpressionsDir(sd, staged, f.name, {
        id: model,
        source: `${[provenance.authors, provenance.paper, provenance.repository, `licence: ${provenance.licence}`].filter((x) => x !== undefined).join('; ')} (daemon models ${record.how} ${model}, from ${record.files[0]?.source ?? f.name}, sha256 ${record.files[0]?.sha256 ?? '?'})`,
        trainingData: [...provenance.trainedOn],
        ...(provenance.reportedMetrics !== undefined ? { reportedMetrics: provenance.reportedMetrics } : {}),
      });
    } else {
      const source = [provenance.authors, provenance.paper, provenance.repository, `licence: ${provenance.licence}`].filter((x) => x !== undefined).join('; ');
      await importSeedCommand({
        kind,
        files: files.map((f) => f.file),
        out: staged,
        roles: files.map((f) => f.role),
        ...(seqLen !== undefined ? { seqLen } : {}),
        id: model,
        source: `${source} (daemon models ${record.how} ${model})`,
        trainingData: [...provenance.trainedOn],
        ...(provenance.reportedMetrics !== undefined ? { metrics: Object.fromEntries(Object.entries(provenance.reportedMetrics).map(([k, v]) => [`reported.${k}`, v])) } : {}),
        warn: io.note,
      });
    }
    await writeFile(path.join(staged, STORE_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    await store.install(model, staged);
  } finally {
    await rm(staged, { recursive: true, force: true });
  }
}

export interface AddOptions {
  readonly store: ModelStore;
  readonly name: string;
  readonly kind: 'cnn' | 'cnn-rnn';
  readonly seqLen?: number;
  readonly files: readonly string[];
  readonly roles?: readonly ('teacher' | 'student')[];
  readonly force?: boolean;
  readonly licence?: string;
  readonly trainedOn?: readonly string[];
  readonly now?: () => Date;
}

/** Adds checkpoints a user downloaded by hand, with the same checks and a provenance record. */
export async function addModel(o: AddOptions, io: ModelsCommandIo): Promise<void> {
  await o.store.ensure();
  if (!o.force && (await o.store.has(o.name))) throw new AnalyticsError(ErrorCodes.CONFLICT, `${o.name}: already in the store (${o.store.modelDir(o.name)}); use --force to replace it`);
  const now = o.now ?? (() => new Date());
  const { createHash } = await import('node:crypto');
  const checked: { file: string; bytes: number; sha256: string }[] = [];
  for (const file of o.files) {
    const bytes = await readRegularFile(file, { maxBytes: MAX_CHECKPOINT_BYTES });
    const refusal = sniffTorchCheckpoint(bytes.subarray(0, 16), undefined);
    if (refusal !== undefined) throw new AnalyticsError(ErrorCodes.CHECKPOINT_FORMAT, `${file}: ${refusal}, not a PyTorch checkpoint`);
    checked.push({ file: path.resolve(file), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const roles = o.roles ?? o.files.map(() => 'student' as const);
  const record: StoreRecord = {
    name: o.name,
    kind: o.kind,
    how: 'add',
    description: `added by hand from ${checked.length} file(s)`,
    licence: o.licence ?? 'unknown (added by hand)',
    trainedOn: [...(o.trainedOn ?? [])],
    reported: 'unknown (added by hand)',
    installedAt: now().toISOString(),
    files: checked.map((c) => ({ name: path.basename(c.file), source: c.file, bytes: c.bytes, sha256: c.sha256, hashCheck: 'first-seen' as const, fetchedAt: now().toISOString() })),
  };
  await installChecked(o.name, o.kind, o.seqLen, checked.map((c, i) => ({ file: c.file, role: roles[i] ?? 'student', name: path.basename(c.file) })), o.store, record, { licence: record.licence, trainedOn: record.trainedOn }, io);
  io.note(`${o.name}: installed in ${o.store.modelDir(o.name)}`);
}

/** `daemon models list` rows: name, kind, tasks, members, source, size, hashes. */
export async function listModels(store: ModelStore): Promise<string[]> {
  const rows = await store.list();
  if (rows.length === 0) return [`the store (${store.dir}) holds no models; \`daemon models pull seed-cnn-rnn\` fetches the seed's CNN-RNN ensemble`];
  const lines = [`store: ${store.dir}`];
  for (const r of rows) {
    if (r.record === undefined) {
      lines.push(`${r.name}  (no store record: not installed by daemon models)`);
      continue;
    }
    const rec = r.record;
    const hashes = rec.files.map((f) => `${f.name} sha256:${f.sha256.slice(0, 12)}… (${f.hashCheck})`).join(', ');
    lines.push(`${r.name}  ${rec.kind}  ${rec.files.length} file(s)  ${(r.bytes / 1048576).toFixed(1)} MiB  ${rec.how === 'pull' ? `from ${rec.repository ?? rec.files[0]?.source ?? '?'}` : 'added by hand'}  licence: ${rec.licence}`);
    lines.push(`    trained on: ${rec.trainedOn.join(', ') || 'unknown'}; files: ${hashes}`);
  }
  return lines;
}
