import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every error status the HTTP server (and a broker control reply, which states the HTTP status the
 * same request would get) sends comes from src/transport/http-errors.ts: the error-code table or
 * the named protocol statuses. Elsewhere in src/transport a number from 400 to 599 is a status
 * written by hand, unless it is one of the few non-statuses below.
 */
const transport = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'transport');

/** Numbers in that range that are not HTTP statuses, each with why. */
const NOT_STATUSES: readonly { readonly file: string; readonly line: RegExp; readonly why: string }[] = [
  { file: 'snapshots.ts', line: /width >= 480/, why: 'a frame width in pixels (label size)' },
  { file: 'sinks/control-listener.ts', line: /CONTROL_DRAIN_TIMEOUT_MS = 500;/, why: 'milliseconds' },
  { file: 'events-client.ts', line: /res\.statusCode === 401/, why: 'the events CLI reading an answer, not the server sending one' },
  // Drift between these keys and what the server answers is caught by test/integration/openapi.test.ts,
  // which validates real answers against the document; the keys are not statuses the server sends.
  { file: 'openapi-document.ts', line: /'[45]\d\d': error\(/, why: 'response keys of the OpenAPI document' },
  { file: 'recording-openapi.ts', line: /'[45]\d\d': (error|noRecording)\(/, why: 'response keys of the OpenAPI document (the recording routes)' },
];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** The code of a file with its comments blanked (line numbers kept). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function statusLiterals(): string[] {
  const found: string[] = [];
  for (const file of walk(transport)) {
    const rel = path.relative(transport, file).split(path.sep).join('/');
    if (rel === 'http-errors.ts') continue;
    withoutComments(readFileSync(file, 'utf8'))
      .split('\n')
      .forEach((line, i) => {
        if (!/(?<![\w.])[45]\d\d(?![\w.])/.test(line)) return;
        if (NOT_STATUSES.some((n) => n.file === rel && n.line.test(line))) return;
        found.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
  }
  return found;
}

describe('HTTP error statuses in src/transport', () => {
  it('finds the literals it looks for (the scanner works)', () => {
    expect(withoutComments("a(400); // 404\n/* 413 */ b('HTTP/1.1 503 x')")).toMatch(/a\(400\);\s+\n\s+b\('HTTP\/1\.1 503 x'\)/);
    for (const n of NOT_STATUSES) expect(readFileSync(path.join(transport, n.file), 'utf8'), n.why).toMatch(n.line);
  });

  it('come from the error-code table or the named protocol statuses in http-errors.ts, never a literal', () => {
    expect(statusLiterals()).toEqual([]);
  });
});
