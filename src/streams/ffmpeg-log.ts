import { Log } from 'node-av/lib';
import { AV_LOG_ERROR, AV_LOG_QUIET } from 'node-av/constants';

let configured = false;

/**
 * FFmpeg prints straight to stderr; keep it to errors (or nothing). Per-stream problems reach the
 * log through our own typed errors instead.
 */
export function quietFfmpeg(silent = false): void {
  if (configured && !silent) return;
  configured = true;
  Log.setLevel(silent ? AV_LOG_QUIET : AV_LOG_ERROR);
}
