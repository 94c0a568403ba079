import type { StreamConfig } from '../config/schema.js';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Lease, LeaseStore, Member, Round } from './lease-store.js';
import type { ClusterView } from './cluster-view.js';
import { rendezvousOwner } from './rendezvous.js';

/** What the coordinator drives: the local supervisor. */
export interface ClusterTarget {
  start(cfg: StreamConfig, fence: number): void | Promise<void>;
  stop(id: string): Promise<void>;
}

export interface CoordinatorOptions {
  readonly member: Member;
  readonly streams: readonly StreamConfig[];
  readonly leaseTtlMs: number;
  readonly tickMs: number;
}

export type { ClusterView } from './cluster-view.js';

export interface CoordinatorHooks {
  onLeaseChange?(reason: 'acquired' | 'released' | 'lost' | 'unreachable' | 'retaken'): void;
}

interface Held {
  /** Replaced when a vanished lease is taken again under a new fence. */
  lease: Lease;
  /** Monotonic time the last successful renewal was *sent*: the lease lasts at least ttl from then. */
  renewedAt: number;
  /** Being handed over: the stream is stopping; the lease is kept (and renewed) until it has. */
  releasing?: Promise<void>;
}

/**
 * Spreads a shared set of streams over live daemons with leases kept in an existing engine. Each
 * tick is one round trip that heartbeats, reads the live members and renews every lease held (or
 * re-takes it under a new fence if the store lost it); then the tick computes every stream's owner
 * by rendezvous hashing, gives up leases this instance should no longer hold (stopping the stream
 * first), and acquires those that are ours and free. A stream is stopped before its lease is
 * released, and an instance that cannot renew stops its streams before the lease can lapse on the
 * server (from 0.8·ttl after the last renewal it sent), so two instances run one camera at most
 * for the clock-rate difference between hosts. Leases carry fences that grow with every holder.
 */
export class ClusterCoordinator {
  private readonly held = new Map<string, Held>();
  private view: ClusterView;
  private timer: NodeJS.Timeout | undefined;
  private guard: NodeJS.Timeout | undefined;
  private ticking = false;
  private running: Promise<void> | undefined;
  private closed = false;
  private duplicate = false;
  private settling = false;
  private readonly log: Logger;

  constructor(
    private readonly store: LeaseStore,
    private readonly target: ClusterTarget,
    private readonly opts: CoordinatorOptions,
    logger: Logger,
    private readonly hooks: CoordinatorHooks = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.log = logger.child({ component: 'cluster', instance: opts.member.id });
    this.view = { instance: opts.member.id, members: [], streams: opts.streams.map((s) => ({ id: s.id, owner: null, fence: null })), updatedAt: null, healthy: false, duplicateInstance: false };
  }

  start(): void {
    const loop = async (): Promise<void> => {
      if (this.closed) return;
      this.ticking = true;
      this.running = this.tick().catch((err: unknown) => this.log.error({ err }, 'cluster tick failed'));
      await this.running;
      this.ticking = false;
      if (!this.closed) this.timer = setTimeout(() => void loop(), this.opts.tickMs);
    };
    void loop();
    // Independent of the ticks: a tick stuck on a Redis that stopped answering must not keep a
    // stream running past its lease. Checked every tickMs/2 (≤ ttl/10), so a stream whose lease was
    // not renewed starts stopping by 0.9·ttl after the last renewal sent. Only while a tick is in
    // progress: between ticks (a starved event loop, say) the next tick renews or stops itself.
    this.guard = setInterval(() => this.ticking && this.expireOverdue(), Math.max(50, Math.floor(this.opts.tickMs / 2)));
    this.guard.unref();
  }

  status(): ClusterView {
    return this.view;
  }

  ownedCount(): number {
    let n = 0;
    for (const h of this.held.values()) if (!h.releasing) n++;
    return n;
  }

  /**
   * Registers this process under its member id before the first tick: a second process with the
   * same `cluster.instanceId` would run every command of the shared control topic, so it refuses
   * to start. A store unreachable now is no reason not to start (readiness shows it); a twin is
   * then found by the ticks, which log it and turn readiness red.
   */
  async join(): Promise<void> {
    const { member, leaseTtlMs } = this.opts;
    let free: boolean;
    try {
      free = await this.store.register(member, leaseTtlMs);
    } catch (err) {
      this.log.warn({ err }, 'lease store unreachable at start: a second process with this cluster.instanceId is looked for once it answers');
      return;
    }
    if (!free) {
      throw new AnalyticsError(ErrorCodes.CONFLICT, `another live process is registered as cluster.instanceId "${member.id}": give every daemon of the cluster its own id`, { context: { instance: member.id } });
    }
  }

  /** One round of the protocol (exposed for tests). */
  async tick(): Promise<void> {
    const { member, leaseTtlMs, streams } = this.opts;
    const sent = [...this.held];
    // The leases last at least ttl from the moment the renewal was sent, whenever it is answered.
    const sentAt = this.now();
    let round: Round;
    try {
      round = await this.store.round(member, leaseTtlMs, sent.map(([, h]) => h.lease), streams.map((s) => s.id));
    } catch (err) {
      await this.unreachable(err);
      return;
    }
    this.noteDuplicate(round.duplicate);
    sent.forEach(([id, h], i) => {
      const now = round.leases[i];
      if (this.held.get(id) !== h) {
        // Stopped while the round was out (its renewal came too late): a lease re-taken for it goes back.
        if (now && now.fence !== h.lease.fence) void this.store.release(now).catch(() => undefined);
        return;
      }
      if (!now) {
        this.hooks.onLeaseChange?.('lost');
        this.log.warn({ streamId: id, fence: h.lease.fence }, 'lease lapsed or taken over: stream stopped');
        // Stopping starts now (unsubscribing is synchronous); waiting for it would delay heartbeats.
        void this.stopLocal(id);
        return;
      }
      if (now.fence !== h.lease.fence) {
        // Its key vanished (a Redis restarted without its data) and nobody else had taken it: the
        // stream runs on, under a fence above any handed out before.
        this.hooks.onLeaseChange?.('retaken');
        this.log.warn({ streamId: id, fence: now.fence, previousFence: h.lease.fence }, 'lease vanished from the store and was taken again: stream keeps running');
      }
      h.lease = now;
      h.renewedAt = sentAt;
    });
    const ids = round.members.map((m) => m.id);
    const wanted = new Map(streams.map((s) => [s.id, rendezvousOwner(s.id, ids)]));
    // Give up what is no longer ours (a returning member takes its share back): the stream stops
    // first, in the background (a stop can take seconds, and heartbeats must go on), and only then
    // is the lease released; until then it is renewed like any other.
    for (const [id, h] of this.held) {
      if (wanted.get(id) === member.id || h.releasing) continue;
      h.releasing = (async () => {
        await this.target.stop(id).catch((err: unknown) => this.log.error({ err, streamId: id }, 'could not stop a stream'));
        // Logged once stopped and before the release, so the logs of the members keep the order
        // of what happened: nobody can log acquiring the stream before this line.
        this.log.info({ streamId: id, fence: h.lease.fence, to: wanted.get(id) ?? null }, 'stream handed over');
        await this.store.release(h.lease).catch(() => undefined);
        if (this.held.get(id) === h) this.held.delete(id);
        this.hooks.onLeaseChange?.('released');
      })();
    }
    if (round.settling !== this.settling) {
      this.settling = round.settling;
      if (round.settling) this.log.warn('the lease store lost its data: no free lease is taken for one lease time, while live holders take theirs again');
    }
    const holders = new Map(round.holders);
    for (const s of round.settling ? [] : streams) {
      if (this.closed) break;
      if (wanted.get(s.id) !== member.id || this.held.has(s.id)) continue;
      const acquiredAt = this.now();
      const lease = await this.store.acquire(s.id, member.id, leaseTtlMs).catch(() => undefined);
      if (!lease) continue;
      this.held.set(s.id, { lease, renewedAt: acquiredAt });
      holders.set(s.id, lease);
      this.hooks.onLeaseChange?.('acquired');
      this.log.info({ streamId: s.id, fence: lease.fence }, 'lease acquired: stream starting here');
      try {
        await this.target.start(s, lease.fence);
      } catch (err) {
        this.log.error({ err, streamId: s.id }, 'could not start a leased stream; releasing it');
        this.held.delete(s.id);
        holders.delete(s.id);
        await this.store.release(lease).catch(() => undefined);
      }
    }
    this.view = {
      instance: member.id,
      members: round.members,
      streams: streams.map((s) => {
        const l = holders.get(s.id);
        return { id: s.id, owner: l?.owner ?? null, fence: l?.fence ?? null };
      }),
      updatedAt: new Date().toISOString(),
      healthy: !round.duplicate,
      duplicateInstance: round.duplicate,
    };
  }

  /** Stops every local stream, gives the leases back and leaves the member list. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.guard);
    await this.running;
    await Promise.all([...this.held.values()].map((h) => h.releasing));
    for (const [id, h] of [...this.held]) {
      await this.stopLocal(id);
      await this.store.release(h.lease).catch(() => undefined);
    }
    await this.store.leave(this.opts.member.id).catch(() => undefined);
    await this.store.close();
  }

  private noteDuplicate(duplicate: boolean): void {
    if (duplicate === this.duplicate) return;
    this.duplicate = duplicate;
    if (duplicate) {
      this.log.error(
        { instance: this.opts.member.id },
        'another live process runs with this cluster.instanceId: both would run every command of the control topic; readiness is red until one of them stops',
      );
    } else this.log.info({ instance: this.opts.member.id }, 'no other process runs with this cluster.instanceId any more');
  }

  private async unreachable(err: unknown): Promise<void> {
    this.view = { ...this.view, healthy: false };
    this.log.warn({ err }, 'lease store unreachable');
    this.expireOverdue();
  }

  /** Stops every stream whose lease was last renewed more than 0.8·ttl ago (it may lapse any moment). */
  private expireOverdue(): void {
    for (const [id, h] of [...this.held]) {
      if (h.releasing || this.now() - h.renewedAt <= 0.8 * this.opts.leaseTtlMs) continue;
      this.hooks.onLeaseChange?.('unreachable');
      this.log.warn({ streamId: id, fence: h.lease.fence }, 'lease could not be renewed in time: stream stopped');
      // Once stopped, give the lease back if Redis answers again, so it need not lapse first.
      void this.stopLocal(id).then(() => this.store.release(h.lease)).catch(() => undefined);
    }
  }

  private async stopLocal(id: string): Promise<void> {
    this.held.delete(id);
    await this.target.stop(id).catch((err: unknown) => this.log.error({ err, streamId: id }, 'could not stop a stream'));
  }
}
