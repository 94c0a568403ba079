import type { EventType } from '../core/records.js';
import { watchEvents } from './events-client.js';

export interface EventsCliOptions {
  readonly url: URL;
  readonly types?: EventType[];
  readonly stream: string[];
  readonly token?: string;
  readonly json?: boolean;
  readonly pretty?: boolean;
}

/**
 * `daemon events`: prints the events of a running daemon on stdout, one per line, diagnostics on
 * stderr. Ctrl-C (SIGINT) or SIGTERM stops it with exit 0; a closed stdout (`| head`) too.
 * Returns the exit code.
 */
export async function eventsCli(o: EventsCliOptions): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that went away (EPIPE) ends the watch quietly, not with an unhandled error.
  const onStdoutError = (): void => stop.abort();
  process.stdout.on('error', onStdoutError);
  const token = o.token ?? (process.env.DAEMON_TOKEN !== '' ? process.env.DAEMON_TOKEN : undefined);
  try {
    return await watchEvents(
      {
        url: o.url,
        ...(o.types !== undefined ? { types: o.types } : {}),
        ...(o.stream.length > 0 ? { streams: o.stream } : {}),
        ...(token !== undefined ? { token } : {}),
        pretty: o.pretty === true,
      },
      {
        line: (text) => {
          if (process.stdout.destroyed || !process.stdout.writable) return false;
          process.stdout.write(text + '\n');
          return true;
        },
        note: (text) => void process.stderr.write(text + '\n'),
      },
      stop.signal,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
