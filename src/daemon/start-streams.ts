import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { ClusterCoordinator } from '../cluster/coordinator.js';
import { RedisLeaseStore } from '../cluster/redis-lease-store.js';
import type { Config, StreamConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { StreamSupervisor } from '../supervisor/stream-supervisor.js';

/** The cluster's name for this instance, also the {instance} of control topics. */
export function instanceName(config: Config, address: AddressInfo): string {
  return config.cluster?.instanceId ?? `${hostname()}:${address.port}`;
}

/**
 * The lease coordinator of a cluster member (undefined alone), not yet joined: the daemon holds
 * it from here, so /v1/cluster answers while it joins and close() releases its lease store.
 */
export function clusterCoordinator(
  config: Config,
  sup: StreamSupervisor,
  deps: { readonly logger: Logger; readonly metrics: Metrics; readonly instance: string; readonly address: AddressInfo },
): ClusterCoordinator | undefined {
  const c = config.cluster;
  if (!c) return undefined;
  const { address } = deps;
  return new ClusterCoordinator(
    new RedisLeaseStore(c.redis, c.prefix, { commandTimeoutMs: Math.max(1000, c.tickMs) }),
    // Leased streams are config streams: never persisted, started and stopped by their lease.
    { start: async (cfg) => void (await sup.add(cfg, 'config')), stop: async (id) => void (await sup.remove(id, 'cluster')) },
    { member: { id: deps.instance, api: c.advertiseUrl ?? `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}` }, streams: config.streams, leaseTtlMs: c.leaseTtlMs, tickMs: c.tickMs },
    deps.logger,
    { onLeaseChange: (reason) => deps.metrics.clusterLeaseChanges.inc({ reason }) },
  );
}

/**
 * Starts the streams: alone, the config's and the persisted ones; in a cluster, this instance's
 * own persisted API streams, while the config's streams run where their lease is held (the
 * coordinator starts and stops them). A second process with this instanceId refuses to start
 * (VA_ERR_CONFLICT).
 */
export async function startStreams(config: Config, sup: StreamSupervisor, persisted: readonly StreamConfig[], cluster: ClusterCoordinator | undefined, logger: Logger): Promise<void> {
  if (!cluster) {
    await sup.restore(config.streams, persisted);
    return;
  }
  const log = logger.child({ component: 'daemon' });
  sup.reserveForCluster(config.streams.map((s) => s.id));
  const own = persisted.filter((s) => !sup.isClusterStream(s.id));
  for (const s of persisted) if (sup.isClusterStream(s.id)) log.warn({ streamId: s.id }, 'persisted stream skipped: its id belongs to the cluster');
  await sup.restore([], own);
  await cluster.join();
  cluster.start();
  log.info({ instance: cluster.status().instance, streams: config.streams.length }, 'cluster member: streams run where their lease is held');
}
