// The reference tables in docs/ are generated from the code (npm run docs), and every relative
// link of the README and docs/ leads somewhere: the documentation cannot drift from the code or
// from itself without this failing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedDocs } from '../../tools/docs/generated-docs.js';
import { brokenLinks, documentationFiles } from '../../tools/docs/links.js';
import { headingSlugs, slug } from '../../tools/docs/markdown.js';
import { repoRoot } from '../helpers/media.js';

describe('documentation', () => {
  for (const doc of generatedDocs(repoRoot)) {
    it(`${doc.file}: the generated tables are what the code generates (run npm run docs)`, () => {
      // Compared line by line, so the failure shows the lines that differ.
      expect(doc.committed.split('\n'), `${doc.file} differs from what the code generates: run npm run docs`).toEqual(doc.generated.split('\n'));
    });
  }

  it('every relative link in README.md and docs/*.md names an existing file and, with #anchor, one of its headings', () => {
    const files = documentationFiles(repoRoot);
    expect(files).toContain('docs/configuration.md');
    expect(brokenLinks(repoRoot, files)).toEqual([]);
  });

  it('the link check names a missing file, a missing heading and an unclosed fence, and leaves code, fences and URLs alone', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'va-docs-'));
    try {
      mkdirSync(path.join(root, 'docs'));
      writeFileSync(path.join(root, 'docs', 'a.md'), '# A\n\n## Real part\n');
      writeFileSync(
        path.join(root, 'README.md'),
        [
          '# Top',
          '[ok](docs/a.md#real-part) [self](#top) [dir](docs) [web](https://example.com/x.md#nope)',
          '[gone](docs/moved.md) [no anchor](docs/a.md#real) `[in code](nowhere.md)`',
          '```md',
          '[in a fence](nowhere.md)',
          '```',
        ].join('\n'),
      );
      expect(brokenLinks(root)).toEqual(['README.md:3: docs/moved.md: no such file', 'README.md:3: docs/a.md#real: no heading with that anchor']);
      // A fence left open hides every later link, and renders the rest of the file as code.
      writeFileSync(path.join(root, 'docs', 'b.md'), '# B\n\n```sh\nrun\n\n[hidden](gone.md)\n');
      expect(brokenLinks(root)).toContain('docs/b.md:3: code fence never closed');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("anchors follow GitHub's slugs: lower case, punctuation dropped but - and _, spaces to -, repeats numbered", () => {
    expect(slug("`daemon models`: the seed's released models in one command")).toBe('daemon-models-the-seeds-released-models-in-one-command');
    expect(slug('Presets (spec §4.1)')).toBe('presets-spec-41');
    expect(slug('Engines side by side: `--engine onnx,tfjs --torch`')).toBe('engines-side-by-side---engine-onnxtfjs---torch');
    expect(slug('snake_case — and [a link](x.md)')).toBe('snake_case--and-a-link');
    expect([...headingSlugs('# A\n```sh\n# not a heading\n```\n## A\n### B')]).toEqual(['a', 'a-1', 'b']);
  });
});
