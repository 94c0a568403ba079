import { checkListenHost, loadConfig, type ConfigOverrides } from './config/load.js';
import { ConfigError } from './core/errors.js';
import { buildDaemon } from './daemon.js';
import { createLogger } from './observability/logger.js';
import { defaultConfigPath } from './paths.js';

export interface RunOptions extends ConfigOverrides {
  readonly config?: string;
}

/** `daemon run`: load config, build the daemon, stop it on SIGINT/SIGTERM. Returns the exit code. */
export async function runDaemon(opts: RunOptions): Promise<number> {
  let config;
  try {
    config = loadConfig({ file: opts.config ?? defaultConfigPath, overrides: opts });
    await checkListenHost(config, { overrides: opts });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`daemon: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(config.log.level);
  const daemon = buildDaemon(config, { logger });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.error('shutdown took too long, exiting');
      logger.flush();
      process.exit(1);
    }, config.server.shutdownTimeoutMs + 500);
    hardStop.unref();
    daemon
      .close()
      .then(() => {
        logger.flush();
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        logger.flush();
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    await daemon.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      // Found only at start (for example a broken persistence file): still a configuration error.
      await daemon.close().catch(() => undefined);
      logger.flush();
      process.stderr.write(`daemon: ${err.message}\n`);
      return 2;
    }
    logger.fatal({ err, code: (err as { code?: string }).code }, 'daemon failed to start');
    await daemon.close().catch(() => undefined);
    logger.flush();
    return 1;
  }
  return new Promise<number>(() => undefined);
}
