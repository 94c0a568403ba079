// Relative links in the README and docs/: each must name a file or directory that exists and, for
// `#anchor`, a heading of that markdown file; and every code fence must be closed.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { headingSlugs, proseLines, unclosedFence } from './markdown.js';

/** README.md and every markdown file under docs/, relative to the root. */
export function documentationFiles(root: string): string[] {
  const docs = existsSync(path.join(root, 'docs'))
    ? readdirSync(path.join(root, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))
    : [];
  return ['README.md', ...docs.sort()];
}

const LINK = /!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;

function inlineCodeRemoved(line: string): string {
  return line.replace(/(`+)(?:(?!\1).)+\1/g, '');
}

export function brokenLinks(root: string, files: readonly string[] = documentationFiles(root)): string[] {
  const slugs = new Map<string, Set<string>>();
  const anchorsOf = (file: string): Set<string> => {
    let s = slugs.get(file);
    if (!s) slugs.set(file, (s = headingSlugs(readFileSync(file, 'utf8'))));
    return s;
  };
  const problems: string[] = [];
  for (const file of files) {
    const abs = path.join(root, file);
    const markdown = readFileSync(abs, 'utf8');
    // Links after an unclosed fence would go unchecked (and unrendered): that is a fault itself.
    const fence = unclosedFence(markdown);
    if (fence !== undefined) problems.push(`${file}:${fence}: code fence never closed`);
    for (const { text, line } of proseLines(markdown)) {
      for (const m of inlineCodeRemoved(text).matchAll(LINK)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …
        const hash = target.indexOf('#');
        const filePart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
        const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
        const dest = filePart === '' ? abs : path.resolve(path.dirname(abs), filePart);
        const where = `${file}:${line}: ${target}`;
        if (!existsSync(dest)) problems.push(`${where}: no such file`);
        else if (anchor !== undefined && dest.endsWith('.md') && !anchorsOf(dest).has(anchor)) problems.push(`${where}: no heading with that anchor`);
      }
    }
  }
  return problems;
}
