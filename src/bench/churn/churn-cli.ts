import type { Command } from 'commander';
import { backendOption, jsonOption, positiveInt } from '../../cli/options.js';

/** `daemon bench churn`: an operator's churn around a witness stream; memory, tensors, fds each minute. */
export function registerBenchChurn(bench: Command): Command {
  return bench
    .command('churn')
    .description("an operator's churn around a looped witness stream: streams added and removed, WebSocket clients, snapshots; memory, tensors, fds each minute")
    .option('--minutes <n>', 'minutes to run', positiveInt('--minutes'), 30)
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (o: { minutes: number; backend: string; json?: boolean }) => {
      const { benchChurn } = await import('./churn.js');
      await benchChurn({ minutes: o.minutes, backend: o.backend, json: o.json === true });
    });
}
