/**
 * Progress of a training run on stderr: a cli-progress bar per phase (epoch, step, ETA, running
 * losses) on a TTY, plain lines otherwise (one per epoch, plus one every `plainEverySteps`).
 */
import cliProgress from 'cli-progress';
import type { EpochRecord, StepInfo } from './loop/run-phase.js';
import type { TrainEvents } from './run-training.js';

const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(3));

function lossText(s: StepInfo): string {
  return `loss ${fmt(s.loss)} (EXPR ${fmt(s.taskLoss.EXPR)} AU ${fmt(s.taskLoss.AU)} VA ${fmt(s.taskLoss.VA)})`;
}

function epochText(r: EpochRecord): string {
  const v = Object.entries(r.val)
    .map(([k, x]) => `${k} ${x.toFixed(3)}`)
    .join(' ');
  return `${r.phase} epoch ${r.epoch + 1}: loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(1)} ${r.seconds.toFixed(0)} s | val ${v}${r.best ? ' (best)' : ''}`;
}

export function progressReporter(stream: NodeJS.WriteStream = process.stderr, plainEverySteps = 50): TrainEvents & { stop(): void } {
  const tty = stream.isTTY === true;
  const write = (l: string): void => void stream.write(l + '\n');
  let bar: cliProgress.SingleBar | undefined;
  let barKey = '';
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onPhase: (name, state) => write(state === 'skipped' ? `${name}: already trained (resumed run)` : state === 'start' ? `${name}: training` : `${name}: done`),
    onStep: (s) => {
      if (!tty) {
        if ((s.step + 1) % plainEverySteps === 0) write(`${s.phase} epoch ${s.epoch + 1}/${s.epochs} step ${s.step + 1}/${s.steps} ${lossText(s)}`);
        return;
      }
      const key = `${s.phase}:${s.epoch}`;
      if (bar === undefined || key !== barKey) {
        stop();
        barKey = key;
        bar = new cliProgress.SingleBar(
          { format: `${s.phase} epoch ${s.epoch + 1}/${s.epochs} [{bar}] {value}/{total} ETA {eta_formatted} {losses}`, stream, hideCursor: true, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(s.steps, s.step, { losses: '' });
      }
      bar.update(s.step + 1, { losses: lossText(s) });
    },
    onEpoch: (r) => {
      stop();
      write(epochText(r));
    },
    log: write,
    stop,
  };
}
