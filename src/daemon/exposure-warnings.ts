import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Warns, once listening, about a bind that exposes the API more than its settings suggest. */
export function warnAboutExposure(server: Config['server'], auth: Config['auth'], log: Logger): void {
  if (auth.token === null && !isLoopback(server.host)) {
    log.warn({ host: server.host }, 'listening beyond loopback without auth: anyone who can reach this port controls the streams (set auth.token / --token / DAEMON_TOKEN)');
  }
  if (['0.0.0.0', '::'].includes(server.host) && server.allowedHosts.length === 0) {
    log.warn({ host: server.host }, 'bound to a wildcard address: only loopback Host names are answered; list the names clients use in server.allowedHosts');
  }
}
