// Which generated table goes into which docs file, which files are generated whole (the JSON
// Schemas), and the documents as the code would write them.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configKeysTable, sinkKeysTable, streamKeysTable } from './config-reference.js';
import { errorCodesTable } from './error-reference.js';
import { jsonDocuments } from './json-documents.js';
import { replaceRegions, type Region } from './markdown.js';
import { metricsTable } from './metric-reference.js';

const REGIONS: Readonly<Record<string, readonly { readonly name: string; readonly render: () => string }[]>> = {
  'docs/configuration.md': [
    { name: 'config-keys', render: configKeysTable },
    { name: 'stream-keys', render: streamKeysTable },
    { name: 'sink-keys', render: sinkKeysTable },
  ],
  'docs/errors.md': [{ name: 'error-codes', render: errorCodesTable }],
  'docs/metrics.md': [{ name: 'metrics', render: metricsTable }],
};

export interface GeneratedDoc {
  /** Relative to the repository root. */
  readonly file: string;
  readonly committed: string;
  readonly generated: string;
}

/** A file not committed yet reads as empty, so the drift check names it instead of throwing. */
function committedText(root: string, file: string): string {
  return existsSync(path.join(root, file)) ? readFileSync(path.join(root, file), 'utf8') : '';
}

export function generatedDocs(root: string): GeneratedDoc[] {
  const regions = Object.entries(REGIONS).map(([file, regions]) => {
    const committed = readFileSync(path.join(root, file), 'utf8');
    const rendered: Region[] = regions.map((r) => ({ name: r.name, content: r.render() }));
    return { file, committed, generated: replaceRegions(committed, file, rendered) };
  });
  // Written whole: the JSON Schemas of the events and of the config files.
  const whole = jsonDocuments().map((d) => ({ file: d.file, committed: committedText(root, d.file), generated: d.content }));
  return [...regions, ...whole];
}
