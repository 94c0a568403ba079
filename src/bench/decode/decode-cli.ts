import { Option, type Command } from 'commander';
import { jsonOption, positiveInt } from '../../cli/options.js';
import type { HwaccelMode } from '../../streams/open-source.js';

// Spelled out rather than imported: the CLI loads a command's module (and node-av) only when it runs.
const HWACCEL_MODES = ['none', 'auto', 'cuda', 'vaapi', 'qsv'] as const satisfies readonly HwaccelMode[];

/** `daemon bench decode`: the daemon's decode path against the ffmpeg command line on the same file. */
export function registerBenchDecode(bench: Command): Command {
  return bench
    .command('decode')
    .description("the daemon's decode path (decode + scale + RGB) against the ffmpeg command line on the same file: ms/frame and ratio")
    .option('--input <file>', 'video file (default test/fixtures/media/utterance_1.mp4)')
    .option('--width <w>', 'output width', positiveInt('--width'), 640)
    .option('--runs <n>', 'runs per side and thread setting (medians are reported)', positiveInt('--runs'), 5)
    .addOption(new Option('--hwaccel <mode>', 'also measure this decoder (analysis.hwaccel), single-threaded, beside software decoding in the same run').choices(HWACCEL_MODES))
    .addOption(jsonOption())
    .action(async (o: { input?: string; width: number; runs: number; hwaccel?: HwaccelMode; json?: boolean }) => {
      const { benchDecode } = await import('./decode.js');
      await benchDecode({ ...(o.input !== undefined ? { input: o.input } : {}), width: o.width, runs: o.runs, ...(o.hwaccel ? { hwaccel: o.hwaccel } : {}), json: o.json === true });
    });
}
