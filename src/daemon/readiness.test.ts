import { describe, expect, it } from 'vitest';
import type { ClusterCoordinator } from '../cluster/coordinator.js';
import type { HostHealth } from '../models/runtime/model-host.js';
import type { DaemonModels } from './load-models.js';
import { daemonReadiness, type ReadinessView } from './readiness.js';

const host = (name: string, state: HostHealth['state']): HostHealth => ({ name, where: 'worker', state, restarts: 0 });

/** Models at the readiness seam: only health() is read (and the affect model's description). */
function models(detector: HostHealth['state'], affect?: HostHealth['state']): DaemonModels {
  const engine = affect && { health: () => host('affect', affect), id: 'm', version: '1', kind: 'ensemble', seqLen: 8, runtime: { engine: 'tfjs' }, workers: 1 };
  return { backend: 'cpu', detector: { health: () => host('face-detector', detector) }, ...(engine ? { affectModel: engine } : {}) } as unknown as DaemonModels;
}

const cluster = (healthy: boolean): ClusterCoordinator =>
  ({ status: () => ({ healthy, instance: 'a', members: [{ id: 'a' }, { id: 'b' }] }), ownedCount: () => 2 }) as unknown as ClusterCoordinator;

function view(o: Partial<ReadinessView> = {}): ReadinessView {
  return { models: () => models('ready'), listening: () => true, closing: () => false, streamCount: () => 0, cluster: () => undefined, sinks: () => [], ...o };
}

const model = { stride: 4, smoothing: 'ema' } as unknown as Parameters<typeof daemonReadiness>[0];

describe('daemonReadiness', () => {
  it('is ready with the face models up and the server listening; says faces only without an affect model', () => {
    const r = daemonReadiness(model, view()).ready();
    expect(r).toMatchObject({ ready: true, checks: { models: true, server: true, shuttingDown: false }, details: { backend: 'cpu', streams: 0 } });
    expect(String(r.details.affectModel)).toMatch(/^none loaded/);
    expect(r.checks).not.toHaveProperty('cluster');
  });

  it('is not ready before the models load, while a model worker restarts, before listening, or shutting down', () => {
    expect(daemonReadiness(model, view({ models: () => undefined })).ready()).toMatchObject({ ready: false, checks: { models: false }, details: { backend: 'none' } });
    expect(daemonReadiness(model, view({ models: () => models('ready', 'restarting') })).ready()).toMatchObject({ ready: false, checks: { models: false } });
    expect(daemonReadiness(model, view({ listening: () => false })).ready()).toMatchObject({ ready: false, checks: { server: false } });
    expect(daemonReadiness(model, view({ closing: () => true })).ready()).toMatchObject({ ready: false, checks: { shuttingDown: true } });
  });

  it('in a cluster, follows the lease store and lists the members', () => {
    expect(daemonReadiness(model, view({ cluster: () => cluster(true) })).ready()).toMatchObject({ ready: true, checks: { cluster: true }, details: { cluster: { instance: 'a', members: ['a', 'b'], owned: 2 } } });
    expect(daemonReadiness(model, view({ cluster: () => cluster(false) })).ready()).toMatchObject({ ready: false, checks: { cluster: false } });
  });

  it('describes a loaded affect model', () => {
    expect(daemonReadiness(model, view({ models: () => models('ready', 'ready') })).ready().details.affectModel).toMatchObject({ id: 'm', stride: 4, smoothing: 'ema' });
  });
});
