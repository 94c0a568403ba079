import type { Command } from 'commander';
import { backendOption, choiceList, deviceOption, jsonOption, threadsOption } from '../../cli/options.js';
import type { DevicePreference } from '../../models/placement/placement.js';

/** `daemon bench faces`: the face path's frames/s and per-stage time, per face-network engine. */
export function registerBenchFaces(bench: Command): Command {
  return bench
    .command('faces')
    .description('decode + detect + align + track frames/s and per-stage time')
    .addOption(backendOption().default('auto'))
    .option('--engine <list>', 'face-network engines side by side in one run (comma-separated: tfjs, onnx)', choiceList('engine', ['tfjs', 'onnx']), ['tfjs', 'onnx'] as ('tfjs' | 'onnx')[])
    .addOption(threadsOption('intra-op threads per ONNX Runtime session', 1))
    .addOption(deviceOption('where the face networks run, decided per engine as for detector.device (an engine that cannot run there is reported unavailable with what is missing)').default('auto'))
    .addOption(jsonOption())
    .action(async (o: { backend: string; engine: ('tfjs' | 'onnx')[]; threads: number; device: DevicePreference; json?: boolean }) => {
      const { benchFaces } = await import('./faces.js');
      await benchFaces({ backend: o.backend, json: o.json === true, engines: o.engine, threads: o.threads, device: o.device });
    });
}
