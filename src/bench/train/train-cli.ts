import { Option, type Command } from 'commander';
import { BACKENDS, choiceList, jsonOption, positiveInt, positiveNumber, typedDefault } from '../../cli/options.js';

interface BenchTrainFlags {
  arch: 'resnet50' | 'compact';
  width: number;
  batch: number;
  seconds: number;
  backend: string[];
  json?: boolean;
}

/** `daemon bench train`: images/s of one teacher training step per engine (onnx, or a TF.js backend). */
export function registerBenchTrain(bench: Command): Command {
  return bench
    .command('train')
    .description('images/s of one teacher training step (forward, losses, backward, Adam) per backend, and PyTorch when present')
    .addOption(new Option('--arch <arch>', 'backbone').choices(['resnet50', 'compact']).default('compact'))
    .option('--width <w>', 'compact width multiplier', positiveNumber, 1)
    .option('--batch <n>', 'faces per task batch', positiveInt('--batch'), 20)
    .option('--seconds <s>', 'seconds per backend', positiveInt('--seconds'), 20)
    .addOption(typedDefault(new Option('--backend <list>', 'comma-separated engines: onnx (ONNX Runtime gradients) and TF.js backends').argParser(choiceList('backend', ['onnx', ...BACKENDS])), 'onnx,wasm'))
    .addOption(jsonOption())
    .action(async (o: BenchTrainFlags) => {
      const { benchTrain } = await import('./bench-train.js');
      const reports = await benchTrain({ arch: o.arch, width: o.width, batch: o.batch, seconds: o.seconds, backends: o.backend });
      if (o.json === true) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
      else for (const r of reports) process.stdout.write(`${r.engine}: ${r.available ? `${r.imagesPerSecond?.toFixed(1)} images/s per training step (forward ${r.forwardImagesPerSecond?.toFixed(1)}, backward+Adam ${r.backwardImagesPerSecond?.toFixed(1)})` : `unavailable (${r.error ?? ''})`}\n`);
      process.exitCode = reports.some((r) => r.available) ? 0 : 1;
    });
}
