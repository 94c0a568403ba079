import { Redis } from 'ioredis';
import type { Lease, LeaseStore, Member } from './lease-store.js';

// Compare-and-extend / compare-and-delete: only the holder with this exact fence may touch its lease.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
// The fence counter and the lease move together, so two holders can never share a fence. The
// counter never falls below the server's clock in milliseconds: a Redis restarted without its data
// (no persistence, or an older snapshot) would otherwise hand out fences a stale holder already has.
const ACQUIRE = `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local floor = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fence = redis.call('INCR', KEYS[2])
if fence < floor then
  fence = floor
  redis.call('SET', KEYS[2], string.format('%d', fence))
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. string.format('%d', fence), 'PX', ARGV[2])
return fence`;

/** Leases as Redis keys with server-side expiry (`<prefix>:lease:<stream>` = `<owner>|<fence>`). */
export class RedisLeaseStore implements LeaseStore {
  private readonly redis: Redis;

  /**
   * `commandTimeoutMs` bounds every command: a Redis that keeps the connection open but stops
   * answering must fail the coordinator's calls, not hold them (and its shutdown) forever.
   */
  constructor(url: string, private readonly prefix: string, opts: { readonly connectTimeoutMs?: number; readonly commandTimeoutMs?: number } = {}) {
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      commandTimeout: opts.commandTimeoutMs ?? 2000,
    });
    this.redis.on('error', () => undefined);
  }

  private key(kind: string, id = ''): string {
    return `${this.prefix}:${kind}${id ? `:${id}` : ''}`;
  }

  async heartbeat(member: Member, ttlMs: number): Promise<void> {
    const now = await this.serverMs();
    await this.redis.multi().zadd(this.key('members'), now + ttlMs, member.id).hset(this.key('member-api'), member.id, member.api ?? '').exec();
  }

  async members(): Promise<Member[]> {
    const now = await this.serverMs();
    await this.redis.zremrangebyscore(this.key('members'), '-inf', String(now));
    const ids = (await this.redis.zrange(this.key('members'), '0', '-1')).sort();
    const apis = ids.length > 0 ? await this.redis.hmget(this.key('member-api'), ...ids) : [];
    return ids.map((id, i) => ({ id, ...(apis[i] ? { api: apis[i] } : {}) }));
  }

  async acquire(streamId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    const fence = (await this.redis.eval(ACQUIRE, 2, this.key('lease', streamId), this.key('fence', streamId), owner, String(ttlMs))) as number;
    return fence > 0 ? { streamId, owner, fence } : undefined;
  }

  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    return ((await this.redis.eval(RENEW, 1, this.key('lease', lease.streamId), `${lease.owner}|${lease.fence}`, String(ttlMs))) as number) === 1;
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key('lease', lease.streamId), `${lease.owner}|${lease.fence}`);
  }

  async holders(streamIds: readonly string[]): Promise<Map<string, Lease>> {
    const out = new Map<string, Lease>();
    if (streamIds.length === 0) return out;
    const values = await this.redis.mget(...streamIds.map((id) => this.key('lease', id)));
    streamIds.forEach((streamId, i) => {
      const v = values[i];
      if (!v) return;
      const bar = v.lastIndexOf('|');
      out.set(streamId, { streamId, owner: v.slice(0, bar), fence: Number(v.slice(bar + 1)) });
    });
    return out;
  }

  async leave(memberId: string): Promise<void> {
    await this.redis.multi().zrem(this.key('members'), memberId).hdel(this.key('member-api'), memberId).exec();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  /** The server's clock: members compare expiry against one clock, not each host's. */
  private async serverMs(): Promise<number> {
    const [s, us] = await this.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}
