import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, SourceError } from '../core/errors.js';

export type SourceSpec =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'rtsp'; readonly url: string }
  | { readonly kind: 'demo'; readonly scene: string };

export const SUPPORTED_SCHEMES = ['file:', 'rtsp:', 'rtsps:', 'demo:'] as const;

/**
 * Parses a source URL: `file://…` or a plain path, `rtsp(s)://…`, or `demo:` (the built-in
 * animated demo stream). Anything else is a SourceError naming the scheme.
 */
export function parseSourceUrl(url: string, cwd = process.cwd()): SourceSpec {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  // A single letter before ':' is a Windows drive, not a scheme.
  if (!m || m[1]!.length === 1) return { kind: 'file', path: path.resolve(cwd, url) };
  const scheme = m[1]!.toLowerCase() + ':';
  switch (scheme) {
    case 'file:':
      try {
        return { kind: 'file', path: fileURLToPath(url) };
      } catch (err) {
        throw new SourceError(ErrorCodes.SOURCE_OPEN, `invalid file URL: ${(err as Error).message}`, { cause: err });
      }
    case 'rtsp:':
    case 'rtsps:':
      return { kind: 'rtsp', url };
    case 'demo:':
      return { kind: 'demo', scene: url.slice('demo:'.length).replace(/^\/\//, '') || 'faces' };
    default:
      throw new SourceError(ErrorCodes.SOURCE_SCHEME, `unsupported URL scheme "${scheme}" (supported: ${SUPPORTED_SCHEMES.join(', ')})`, {
        context: { scheme },
      });
  }
}

/** Hides credentials: rtsp://user:pass@host/path → rtsp://***@host/path. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s]*@/, '$1***@');
}

/** Hides credentials of every URL inside a free text (error messages from FFmpeg and friends). */
export function scrubCredentials(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s'"]*@/g, '$1***@');
}

/** True when `file` lies inside one of `roots` (after resolving `..` and symlink-free paths). */
export function isUnderRoots(file: string, roots: readonly string[]): boolean {
  const abs = path.resolve(file);
  return roots.some((root) => {
    const rel = path.relative(path.resolve(root), abs);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}
