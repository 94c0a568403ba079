/** A held lease: the fence grows with every new holder, so a stale holder can be told apart. */
export interface Lease {
  readonly streamId: string;
  readonly owner: string;
  readonly fence: number;
}

export interface Member {
  readonly id: string;
  /** Where its HTTP API answers (for operators; optional). */
  readonly api?: string;
}

/** What one round trip to the store did and saw. */
export interface Round {
  /** Members whose heartbeat has not lapsed, sorted by id. */
  readonly members: Member[];
  /**
   * Per lease sent, in order: the lease as held now — the same one renewed, or the same holder
   * under a new fence when its key had vanished (a store that lost its data) — or undefined when
   * another holds it.
   */
  readonly leases: readonly (Lease | undefined)[];
  /** Current holders of the streams asked about. */
  readonly holders: Map<string, Lease>;
  /** Another live process is registered under this member's id. */
  readonly duplicate: boolean;
  /**
   * The store lost its data less than a lease ago: no free lease may be taken yet, so that every
   * live holder has time to re-take its own before anyone computes owners from a partial list.
   */
  readonly settling: boolean;
}

/**
 * Leases and membership kept in an existing engine (Redis here). Every operation is atomic on the
 * server; expiry is the server's, so a dead instance's leases lapse without anyone's help.
 */
export interface LeaseStore {
  /** Registers this process under its member id for `ttlMs`; false if another live process holds the id. */
  register(member: Member, ttlMs: number): Promise<boolean>;
  /**
   * One atomic round trip: refresh this process's registration and membership for `ttlMs`, read
   * the live members, renew `held` (re-taking any whose key vanished), read the streams' holders.
   */
  round(member: Member, ttlMs: number, held: readonly Lease[], streamIds: readonly string[]): Promise<Round>;
  /** Takes the lease if nobody holds it; returns it with a new fence, or undefined. */
  acquire(streamId: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Gives a lease up (only if still held by this owner and fence). */
  release(lease: Lease): Promise<void>;
  /** Removes this member (clean shutdown), unless another process holds its id. */
  leave(memberId: string): Promise<void>;
  close(): Promise<void>;
}
