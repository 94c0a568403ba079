import type { Command } from 'commander';
import { jsonOption, positiveInt } from '../../cli/options.js';

/** `daemon bench decode`: the daemon's decode path against the ffmpeg command line on the same file. */
export function registerBenchDecode(bench: Command): Command {
  return bench
    .command('decode')
    .description("the daemon's decode path (decode + scale + RGB) against the ffmpeg command line on the same file: ms/frame and ratio")
    .option('--input <file>', 'video file (default test/fixtures/media/utterance_1.mp4)')
    .option('--width <w>', 'output width', positiveInt('--width'), 640)
    .option('--runs <n>', 'runs per side and thread setting (medians are reported)', positiveInt('--runs'), 5)
    .addOption(jsonOption())
    .action(async (o: { input?: string; width: number; runs: number; json?: boolean }) => {
      const { benchDecode } = await import('./decode.js');
      await benchDecode({ ...(o.input !== undefined ? { input: o.input } : {}), width: o.width, runs: o.runs, json: o.json === true });
    });
}
