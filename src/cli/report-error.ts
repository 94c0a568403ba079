import { AnalyticsError } from '../core/errors.js';

/**
 * A command's failure as one `error [CODE]: message` line on stderr (stdout stays machine-readable);
 * returns exit code 1.
 */
export function reportError(err: unknown): number {
  const code = err instanceof AnalyticsError ? ` [${err.code}]` : '';
  process.stderr.write(`error${code}: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
