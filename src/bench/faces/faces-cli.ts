import type { Command } from 'commander';
import { backendOption, choiceList, jsonOption, threadsOption } from '../../cli/options.js';

/** `daemon bench faces`: the face path's frames/s and per-stage time, per face-network engine. */
export function registerBenchFaces(bench: Command): Command {
  return bench
    .command('faces')
    .description('decode + detect + align + track frames/s and per-stage time')
    .addOption(backendOption().default('auto'))
    .option('--engine <list>', 'face-network engines side by side in one run (comma-separated: tfjs, onnx)', choiceList('engine', ['tfjs', 'onnx']), ['tfjs', 'onnx'] as ('tfjs' | 'onnx')[])
    .addOption(threadsOption('intra-op threads per ONNX Runtime session', 1))
    .addOption(jsonOption())
    .action(async (o: { backend: string; engine: ('tfjs' | 'onnx')[]; threads: number; json?: boolean }) => {
      const { benchFaces } = await import('./faces.js');
      await benchFaces({ backend: o.backend, json: o.json === true, engines: o.engine, threads: o.threads });
    });
}
