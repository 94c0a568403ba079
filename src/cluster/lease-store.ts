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

/**
 * Leases and membership kept in an existing engine (Redis here). Every operation is atomic on the
 * server; expiry is the server's, so a dead instance's leases lapse without anyone's help.
 */
export interface LeaseStore {
  /** Registers or refreshes this member for `ttlMs`. */
  heartbeat(member: Member, ttlMs: number): Promise<void>;
  /** Members whose heartbeat has not lapsed, sorted by id. */
  members(): Promise<Member[]>;
  /** Takes the lease if nobody holds it; returns it with a new fence, or undefined. */
  acquire(streamId: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a lease this owner holds with this fence; false if it lapsed or moved. */
  renew(lease: Lease, ttlMs: number): Promise<boolean>;
  /** Gives a lease up (only if still held by this owner and fence). */
  release(lease: Lease): Promise<void>;
  /** Current holders of the given streams. */
  holders(streamIds: readonly string[]): Promise<Map<string, Lease>>;
  /** Removes this member (clean shutdown). */
  leave(memberId: string): Promise<void>;
  close(): Promise<void>;
}
