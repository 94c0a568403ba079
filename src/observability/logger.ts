import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** The one root logger; components narrow it with child({ component }). URLs are redacted. */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: ['url', '*.url', 'headers.authorization', '*.headers.authorization'], censor: '[redacted]' },
    // Our messages already quote their cause ("X failed to load: <why>"); the default serializer
    // appends each cause's message again ("…: <why>: <why>"). The cause goes under err.cause.
    serializers: { err: pino.stdSerializers.errWithCause },
  };
  return destination ? pino(options, destination) : pino(options);
}
