/**
 * `daemon events`: a WebSocket client of a running daemon (its action is
 * src/transport/events-command.ts, next to the client it drives).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { defaultEventsUrl } from '../config/run-defaults.js';
import { EVENT_TYPES } from '../core/records.js';
import { parseEventsUrl, parseEventTypes } from '../transport/events-client.js';
import type { EventsCliOptions } from '../transport/events-command.js';
import { collect } from './options.js';

/** The client's parsers return a message instead of throwing: commander reports it as a usage error. */
const orUsageError = <T>(v: T | string): T => {
  if (typeof v === 'string') throw new InvalidArgumentError(v);
  return v;
};

export function registerEvents(program: Command): Command {
  return program
    .command('events')
    .description("subscribe to a running daemon's WebSocket events and print one line per event until Ctrl-C")
    .addOption(new Option('--url <url>', "the daemon's event socket").argParser((v: string) => orUsageError(parseEventsUrl(v))).default(new URL(defaultEventsUrl()), defaultEventsUrl()))
    .option('--types <list>', `comma-separated event types (${EVENT_TYPES.join(', ')}; default: all)`, (v: string) => orUsageError(parseEventTypes(v)))
    .addOption(new Option('--stream <id>', 'only this stream (repeatable)').argParser(collect).default([] as string[], 'all'))
    .option('--token <token>', 'bearer token of the daemon (or env DAEMON_TOKEN); sent as a header')
    .addOption(new Option('--json', 'print each event as one JSON line, as sent (the default)').conflicts('pretty'))
    .addOption(new Option('--pretty', 'print a readable line per event: UTC time, stream, type, what it carries'))
    .action(async (o: EventsCliOptions) => {
      const { eventsCli } = await import('../transport/events-command.js');
      process.exitCode = await eventsCli(o);
    });
}
