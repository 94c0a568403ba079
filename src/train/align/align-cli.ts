/**
 * `daemon align`: options in, exit code out. Progress goes to stderr — a cli-progress
 * bar on a terminal, plain lines otherwise (logs, CI) — and failures are one
 * `error [CODE]: message` line with exit code 1. A video that cannot be read or decoded fails
 * alone (one `<video>: failed [CODE]: …` line); the others are aligned and the exit code is 1.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { backendOption, configOption, intFromTo } from '../../cli/options.js';
import { reportError } from '../../cli/report-error.js';
import type { BackendPreference } from '../../models/backend.js';
import type { FaceDetector } from '../../models/face-detector/index.js';
import type { AlignEvents } from './align-videos.js';

interface AlignCliOptions {
  input: string;
  out: string;
  config?: string;
  quality: number;
  backend: BackendPreference;
}

const stderr = (line: string): void => void process.stderr.write(line + '\n');

function progressEvents(total: number): { events: AlignEvents; stop(): void } {
  if (process.stderr.isTTY === true) {
    const bar = new SingleBar(
      { format: 'align [{bar}] {value}/{total} videos | {video}: frame {frames}, {faces} faces', stream: process.stderr, hideCursor: true, clearOnComplete: false },
    );
    bar.start(total, 0, { video: '', frames: 0, faces: 0 });
    let last = 0;
    return {
      events: {
        videoStarted: (video) => bar.update({ video, frames: 0, faces: 0 }),
        frame: (video, frames, faces) => {
          const now = Date.now();
          if (now - last > 200) {
            last = now;
            bar.update({ video, frames, faces });
          }
        },
        videoDone: (s) => bar.increment(1, { video: s.video, frames: s.frames, faces: s.faces }),
        videoSkipped: (video) => bar.increment(1, { video: `${video} (already aligned)`, frames: 0, faces: 0 }),
        // Its error is printed with the summary, once the bar has stopped.
        videoFailed: (video) => bar.increment(1, { video: `${video} (failed)`, frames: 0, faces: 0 }),
      },
      stop: () => bar.stop(),
    };
  }
  return {
    events: {
      videoStarted: (video, i, n) => stderr(`[${i + 1}/${n}] ${video}`),
      frame: (video, frames, faces) => {
        if (frames % 500 === 0) stderr(`  ${video}: frame ${frames}, ${faces} face(s)`);
      },
      videoDone: (s) => stderr(`  ${s.video}: ${s.frames} frame(s), ${s.faces} face(s) in ${s.folders.length} track folder(s) (${s.folders.join(', ') || 'none'}), ${s.written} crop(s) written`),
      videoSkipped: (video, reason) => stderr(`  ${video}: skipped (${reason})`),
      videoFailed: (video, err) => stderr(`  ${video}: failed [${err.code}]: ${err.message}`),
    },
    stop: () => undefined,
  };
}

async function alignCli(o: AlignCliOptions): Promise<number> {
  let detector: FaceDetector | undefined;
  let stop = (): void => undefined;
  try {
    // The detector (TF.js) and the decoder (node-av) load when the command runs, not for --help.
    const [{ loadConfig }, { selectBackend }, { FaceDetector }, { quietFfmpeg }, { alignVideos, listVideos }] = await Promise.all([
      import('../../config/load.js'),
      import('../../models/backend.js'),
      import('../../models/face-detector/index.js'),
      import('../../streams/open-source.js'),
      import('./align-videos.js'),
    ]);
    quietFfmpeg();
    const config = loadConfig({ ...(o.config !== undefined ? { file: o.config } : {}), env: {} });
    const videos = await listVideos(o.input);
    const backend = await selectBackend(o.backend);
    stderr(`align: ${videos.length} video(s) → ${o.out} (backend ${backend.name}, crops ${config.alignment.size}×${config.alignment.size})`);
    detector = await FaceDetector.load();
    const p = progressEvents(videos.length);
    stop = p.stop;
    const results = await alignVideos({ input: o.input, out: o.out, detector, config, quality: o.quality, events: p.events });
    stop();
    stop = () => undefined;
    const faces = results.reduce((a, r) => a + r.faces, 0);
    const skipped = results.filter((r) => r.skipped).length;
    const failed = results.filter((r) => r.failed !== undefined);
    if (process.stderr.isTTY === true) for (const r of failed) stderr(`  ${r.video}: failed [${r.failed?.code}]: ${r.failed?.message}`);
    stderr(`done: ${results.length} video(s)${skipped > 0 ? ` (${skipped} already aligned)` : ''}${failed.length > 0 ? `, ${failed.length} failed (${failed.map((r) => r.video).join(', ')})` : ''}, ${faces} face crop(s) in ${o.out}`);
    // The others were aligned, but a script must notice the ones that were not.
    return failed.length > 0 ? 1 : 0;
  } catch (err) {
    stop();
    return reportError(err);
  } finally {
    detector?.close();
  }
}

export function registerAlign(program: Command): Command {
  return program
    .command('align')
    .description("the seed's face alignment for training data: aligned 112×112 crops per video and track (Aff-Wild2 cropped_aligned layout) plus landmarks CSV; resumable")
    .requiredOption('--input <path>', 'a video file, or a directory of video files')
    .requiredOption('--out <dir>', 'output directory (<video>[_<track>]/<frame:05d>.jpg, <video>.landmarks.csv)')
    .addOption(configOption('daemon config whose analysis/detector/tracker/alignment settings apply'))
    .option('--quality <n>', 'JPEG quality 1..100', intFromTo('--quality', 1, 100), 95)
    .addOption(backendOption().default('auto'))
    .action(async (o: AlignCliOptions) => {
      process.exitCode = await alignCli(o);
    });
}
