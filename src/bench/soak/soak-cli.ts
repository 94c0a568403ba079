import type { Command } from 'commander';
import { backendOption, jsonOption, positiveInt } from '../../cli/options.js';

/** `daemon bench soak`: looped streams and camera reboots for minutes; memory, tensors, handles, event rate. */
export function registerBenchSoak(bench: Command): Command {
  return bench
    .command('soak')
    .description('4 looped streams (files and RTSP) with a camera reboot every minute: memory, tensors, handles, event rate')
    .option('--minutes <n>', 'minutes to run', positiveInt('--minutes'), 10)
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (o: { minutes: number; backend: string; json?: boolean }) => {
      const { benchSoak } = await import('./soak.js');
      await benchSoak({ minutes: o.minutes, backend: o.backend, json: o.json === true });
    });
}
