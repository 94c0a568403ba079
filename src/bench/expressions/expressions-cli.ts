import { AnalyticsError } from '../../core/errors.js';
import type { BackendPreference } from '../../models/backend.js';
import { packagedTeachersDir } from '../../paths.js';
import { benchExpressions, formatBenchExpressions } from './expressions.js';

/** `daemon bench expressions`: the table on stdout (or JSON), progress and errors on stderr. */
export async function benchExpressionsCli(o: { input: string[]; model: string[]; variants?: boolean; backend: string; json?: boolean }): Promise<number> {
  try {
    const r = await benchExpressions({
      inputs: o.input,
      models: o.model.length > 0 ? o.model : [packagedTeachersDir],
      variants: o.variants === true,
      backend: o.backend as BackendPreference,
      progress: (l) => void process.stderr.write(l + '\n'),
    });
    process.stdout.write((o.json === true ? JSON.stringify(r, null, 2) : formatBenchExpressions(r)) + '\n');
    return 0;
  } catch (err) {
    const code = err instanceof AnalyticsError ? ` [${err.code}]` : '';
    process.stderr.write(`error${code}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
