// Markdown pieces shared by the generated reference tables and the link check.

/** A table cell: pipes escaped and line breaks folded, so a cell can never split a row. */
export function cell(text: string): string {
  return text.replace(/\r?\n\s*/g, ' ').replace(/\|/g, '\\|');
}

export function code(text: string): string {
  return `\`${text}\``;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * GitHub's heading anchor: lower case, punctuation dropped except `-` and `_`, each space a `-`;
 * a repeated heading gets `-1`, `-2`, … (see headingSlugs).
 */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images keep their text
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

interface Scanned {
  readonly prose: { readonly text: string; readonly line: number }[];
  /** The line of a code fence that is never closed: the rest of the file renders as code. */
  readonly unclosedFence: number | undefined;
}

function scan(markdown: string): Scanned {
  const prose: { text: string; line: number }[] = [];
  let fence: { marker: string; line: number } | undefined;
  markdown.split('\n').forEach((text, i) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(text);
    if (m) {
      const marker = m[1]!;
      if (fence === undefined) fence = { marker, line: i + 1 };
      else if (marker[0] === fence.marker[0] && marker.length >= fence.marker.length) fence = undefined;
      return;
    }
    if (fence === undefined) prose.push({ text, line: i + 1 });
  });
  return { prose, unclosedFence: fence?.line };
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
export function proseLines(markdown: string): { readonly text: string; readonly line: number }[] {
  return scan(markdown).prose;
}

export function unclosedFence(markdown: string): number | undefined {
  return scan(markdown).unclosedFence;
}

/** Every anchor a file's headings define, as GitHub numbers repeats. */
export function headingSlugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

export interface Region {
  readonly name: string;
  readonly content: string;
}

export const beginMarker = (name: string): string => `<!-- generated:${name} -->`;
export const endMarker = (name: string): string => `<!-- /generated:${name} -->`;

/** The document with the text between each region's markers replaced; a missing marker is an error. */
export function replaceRegions(markdown: string, file: string, regions: readonly Region[]): string {
  let out = markdown;
  for (const r of regions) {
    const begin = out.indexOf(beginMarker(r.name));
    const end = out.indexOf(endMarker(r.name));
    if (begin < 0 || end < begin) throw new Error(`${file}: no ${beginMarker(r.name)} … ${endMarker(r.name)} region`);
    out = `${out.slice(0, begin + beginMarker(r.name).length)}\n${r.content}\n${out.slice(end)}`;
  }
  return out;
}
