// `npm run docs`: rewrites the generated regions of docs/ (config keys, error codes, metrics) and the
// generated JSON Schemas (docs/api/events/, config/*.schema.json) from the code. test/lint/docs.test.ts fails when the committed files differ from what this writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedDocs } from './docs/generated-docs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const doc of generatedDocs(root)) {
  if (doc.generated === doc.committed) {
    process.stdout.write(`${doc.file}: up to date\n`);
  } else {
    mkdirSync(path.dirname(path.join(root, doc.file)), { recursive: true });
    writeFileSync(path.join(root, doc.file), doc.generated);
    process.stdout.write(`${doc.file}: rewritten\n`);
  }
}
