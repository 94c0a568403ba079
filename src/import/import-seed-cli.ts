/**
 * `daemon import-seed`: the seed's PyTorch checkpoints (one file per ensemble member) into a model
 * directory. The summary and warnings go to stderr; a failure is one `error [CODE]: …` line, exit 1.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { choiceList, collect, listOf, positiveInt } from '../cli/options.js';
import { reportError } from '../cli/report-error.js';
import { AU_LABELS } from '../core/affect-labels.js';

interface ImportSeedFlags {
  kind: 'cnn' | 'cnn-rnn';
  seqLen?: number;
  out: string;
  id?: string;
  roles?: ('teacher' | 'student')[];
  auThresholds?: number[];
  force?: boolean;
  source?: string;
  trainingData: string[];
  modelVersion?: string;
  ensembleWithTeacher?: boolean;
}

const stderr = (line: string): void => void process.stderr.write(line + '\n');

const threshold = (v: string): number => {
  const n = Number(v);
  if (v === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`AU threshold ${JSON.stringify(v)}: a number from 0 to 1`);
  return n;
};
/** One threshold per Action Unit of the seed's heads, in their order. */
const auThresholds = (v: string): number[] => {
  const t = listOf(threshold)(v);
  if (t.length !== AU_LABELS.length) throw new InvalidArgumentError(`expected ${AU_LABELS.length} AU thresholds (${AU_LABELS.join(', ')}), got ${t.length}`);
  return t;
};

async function importSeed(files: string[], o: ImportSeedFlags): Promise<number> {
  try {
    // The importer loads TF.js: when the command runs, not for --help.
    const [{ importSeedCommand }, { ensembleMembers }] = await Promise.all([import('./import-command.js'), import('../models/seed/manifest.js')]);
    const m = await importSeedCommand({
      kind: o.kind,
      files,
      out: o.out,
      ...(o.seqLen !== undefined ? { seqLen: o.seqLen } : {}),
      ...(o.id !== undefined ? { id: o.id } : {}),
      ...(o.roles !== undefined ? { roles: o.roles } : {}),
      ...(o.auThresholds !== undefined ? { auThresholds: o.auThresholds } : {}),
      force: o.force === true,
      ...(o.source !== undefined ? { source: o.source } : {}),
      trainingData: o.trainingData,
      ...(o.modelVersion !== undefined ? { version: o.modelVersion } : {}),
      ensembleWithTeacher: o.ensembleWithTeacher === true,
      warn: (l) => stderr(`warning: ${l}`),
    });
    const averaged = ensembleMembers(m);
    stderr(
      `imported ${m.members.length} ${m.kind} member(s) (${m.members.map((x) => `${x.name}:${x.role}`).join(', ')})${m.seqLen !== undefined ? `, seq_len ${m.seqLen}` : ''} → ${o.out}` +
        (averaged.length < m.members.length ? `; the ensemble averages the ${averaged.length} student(s), as the authors' --ensemble does (--ensemble-with-teacher to include the teacher)` : ''),
    );
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

export function registerImportSeed(program: Command): Command {
  return program
    .command('import-seed')
    .description("import the seed's PyTorch checkpoints (one file per ensemble member) into a model directory")
    .argument('<files...>', '.pth state_dicts (zip or legacy serialisation)')
    .addOption(new Option('--kind <kind>', 'model kind').choices(['cnn', 'cnn-rnn']).makeOptionMandatory())
    .option('--seq-len <n>', 'CNN-RNN window length (default 32, the released models)', positiveInt('--seq-len'))
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--id <id>', 'model id (default seed-<kind>)')
    .option('--roles <list>', 'comma-separated teacher|student per file, in order (default all student)', choiceList('role', ['teacher', 'student']))
    .option('--au-thresholds <list>', '8 comma-separated AU thresholds (default: the released table for the kind/seq-len)', auThresholds)
    .option('--source <text>', 'provenance: where the checkpoints came from')
    .option('--training-data <text>', 'provenance: training data (repeatable)', collect, [] as string[])
    .option('--model-version <v>', 'model version recorded in the manifest (default 1)')
    .option('--ensemble-with-teacher', 'average the teacher with the students (default: students only, as the authors)')
    .option('--force', 'replace an existing model directory')
    .action(async (files: string[], o: ImportSeedFlags) => {
      process.exitCode = await importSeed(files, o);
    });
}
