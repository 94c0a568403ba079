/**
 * The `daemon models` subcommands: options in, exit code out. Progress goes to stderr (a bar on a
 * terminal, a line per tenth otherwise); `list` prints to stdout.
 */
import { SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { choiceList, configOption, intFromTo, storeOption } from '../cli/options.js';
import { reportError as report } from '../cli/report-error.js';
import { defaultStoreDir, ModelStore } from './store/model-store.js';
import type { ModelsCommandIo } from './models-command.js';

// The commands import the checkpoint importer (TF.js): loaded when a subcommand runs, not for --help.
const commands = () => import('./models-command.js');

const stderr = (line: string): void => void process.stderr.write(`${line}\n`);

function progressIo(): ModelsCommandIo & { stop(): void } {
  let bar: SingleBar | undefined;
  let current = '';
  let lastTenth = -1;
  const tty = process.stderr.isTTY === true;
  return {
    note: (line) => {
      bar?.stop();
      bar = undefined;
      stderr(line);
    },
    progress: (file, received, total) => {
      if (tty) {
        if (bar === undefined || file !== current) {
          bar?.stop();
          current = file;
          bar = new SingleBar({ format: `${file} [{bar}] {percentage}% {value}/{total} MiB`, stream: process.stderr, hideCursor: true });
          bar.start(total !== undefined ? Math.ceil(total / 1048576) : 0, 0);
        }
        bar.update(Math.floor(received / 1048576));
      } else if (total !== undefined) {
        const tenth = Math.floor((received / total) * 10);
        if (file !== current) {
          current = file;
          lastTenth = -1;
        }
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          stderr(`${file}: ${tenth * 10}% of ${(total / 1048576).toFixed(1)} MiB`);
        }
      }
    },
    stop: () => bar?.stop(),
  };
}

interface StoreFlags {
  store?: string;
  config?: string;
}

/** --store, else the config file's models.store, else the XDG default. */
async function settingsOf(o: StoreFlags): Promise<{ store: ModelStore; catalog: string | undefined }> {
  let fromConfig: { store: string | null; catalog: string | null } = { store: null, catalog: null };
  if (o.config !== undefined) {
    const { loadConfig } = await import('../config/load.js');
    fromConfig = loadConfig({ file: o.config }).models;
  }
  return { store: new ModelStore(o.store ?? fromConfig.store ?? defaultStoreDir()), catalog: fromConfig.catalog ?? undefined };
}
const storeOf = async (o: StoreFlags): Promise<ModelStore> => (await settingsOf(o)).store;

const storeFlag = () => storeOption('model store (default $XDG_DATA_HOME/affect-daemon/models)');
const configFlag = (keys = 'models.store') => configOption(`daemon config whose ${keys} to use`);

export function addModelsCommands(program: Command): void {
  const models = program.command('models').description("the model store: the seed's released models in one command, and models added by hand");
  models
    .command('pull')
    .description('download a catalogued model (seed-cnn, seed-cnn-rnn, seed, ferplus-resnet50, ferplus-expressions), check and import it into the store')
    .argument('<name>', 'catalogue name')
    .addOption(storeFlag())
    .option('--catalog <file>', 'a catalogue replacing the built-in config/model-catalog.json (or models.catalog in --config)')
    .addOption(configFlag('models.store / models.catalog'))
    .option('--force', 'pull again even if the store has it')
    .action(async (name: string, o: StoreFlags & { catalog?: string; force?: boolean }) => {
      const io = progressIo();
      try {
        const { pullModels } = await commands();
        const settings = await settingsOf(o);
        const catalog = o.catalog ?? settings.catalog;
        await pullModels(name, { store: settings.store, ...(catalog !== undefined ? { catalog } : {}), force: o.force === true }, io);
        process.exitCode = 0;
      } catch (err) {
        io.stop();
        process.exitCode = report(err);
      }
    });
  models
    .command('add')
    .description('add checkpoints downloaded by hand (one .pth per member), with the same checks and provenance')
    .argument('<files...>', 'PyTorch checkpoints, one per ensemble member')
    .requiredOption('--name <name>', 'name in the store')
    .addOption(new Option('--kind <kind>', 'model kind').choices(['cnn', 'cnn-rnn']).makeOptionMandatory())
    .option('--seq-len <n>', 'cnn-rnn: window length (default 32)', intFromTo('--seq-len', 2, 256))
    .option('--roles <list>', 'teacher/student per file, comma-separated (default all students)', choiceList('role', ['teacher', 'student']))
    .addOption(storeFlag())
    .addOption(configFlag())
    .option('--force', 'replace a model of that name')
    .action(async (files: string[], o: StoreFlags & { name: string; kind: 'cnn' | 'cnn-rnn'; seqLen?: number; roles?: ('teacher' | 'student')[]; force?: boolean }) => {
      const { seqLen, roles } = o;
      try {
        const { addModel } = await commands();
        await addModel(
          {
            store: await storeOf(o),
            name: o.name,
            kind: o.kind,
            files,
            ...(seqLen !== undefined ? { seqLen } : {}),
            ...(roles !== undefined ? { roles } : {}),
            force: o.force === true,
          },
          { note: stderr },
        );
        process.exitCode = 0;
      } catch (err) {
        process.exitCode = report(err);
      }
    });
  models
    .command('list')
    .description('what the store holds: name, kind, files, size, source, licence, hashes')
    .addOption(storeFlag())
    .addOption(configFlag())
    .action(async (o: StoreFlags) => {
      try {
        const { listModels } = await commands();
        for (const line of await listModels(await storeOf(o))) process.stdout.write(`${line}\n`);
        process.exitCode = 0;
      } catch (err) {
        process.exitCode = report(err);
      }
    });
  models
    .command('rm')
    .description('remove a model from the store')
    .argument('<name>')
    .addOption(storeFlag())
    .addOption(configFlag())
    .action(async (name: string, o: StoreFlags) => {
      try {
        await (await storeOf(o)).remove(name);
        stderr(`${name}: removed`);
        process.exitCode = 0;
      } catch (err) {
        process.exitCode = report(err);
      }
    });
}
