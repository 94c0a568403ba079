import type { Command } from 'commander';
import { backendOption, collect, jsonOption, storeOption } from '../../cli/options.js';
import { reportError } from '../../cli/report-error.js';
import type { BackendPreference } from '../../models/backend.js';

interface ExpressionsFlags {
  input: string[];
  model: string[];
  variants?: boolean;
  backend: BackendPreference;
  json?: boolean;
  store?: string;
}

/** The table on stdout (or JSON), progress and errors on stderr. */
async function benchExpressionsCli(o: ExpressionsFlags): Promise<number> {
  try {
    const [{ benchExpressions, formatBenchExpressions }, { packagedTeachersDir }, { defaultStoreDir, ModelStore, resolveModelRef }] = await Promise.all([
      import('./expressions.js'),
      import('../../paths.js'),
      import('../../import/store/model-store.js'),
    ]);
    // A bare name is a model of the store (`daemon models pull ferplus-expressions`), as for predict.
    const store = new ModelStore(o.store ?? defaultStoreDir());
    const models = o.model.length > 0 ? await Promise.all(o.model.map((m) => resolveModelRef(m, store))) : [packagedTeachersDir];
    const r = await benchExpressions({
      inputs: o.input,
      models,
      variants: o.variants === true,
      backend: o.backend,
      progress: (l) => void process.stderr.write(l + '\n'),
    });
    process.stdout.write((o.json === true ? JSON.stringify(r, null, 2) : formatBenchExpressions(r)) + '\n');
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

/** `daemon bench expressions`: agreement, label stability and cost of expression models on unlabelled face video. */
export function registerBenchExpressions(bench: Command): Command {
  return bench
    .command('expressions')
    .description('agreement, label stability and cost of expression models (each packaged member, their ensemble, more model dirs) on unlabelled face video')
    .requiredOption('--input <path>', 'video or image file, directory of them, or demo: (repeatable)', collect, [] as string[])
    .option('--model <dir|name>', 'model directory or model-store name (repeatable; the first is the reference; default: config/models/packaged-teachers, both packaged classifiers)', collect, [] as string[])
    .addOption(storeOption('model store a --model name resolves in (default $XDG_DATA_HOME/affect-daemon/models)'))
    .option('--variants', 'add FFmpeg variants of each file (mirror, crop, half scale, darker, brighter)')
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (o: ExpressionsFlags) => {
      process.exitCode = await benchExpressionsCli(o);
    });
}
