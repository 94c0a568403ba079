import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Lease, LeaseStore, Member, Round } from './lease-store.js';

// The counter never falls below the server's clock in milliseconds: a Redis restarted without its
// data (no persistence, or an older snapshot) would otherwise hand out fences a stale holder has.
const LIB = `local function serverMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function nextFence(key, now)
  local fence = redis.call('INCR', key)
  if fence < now then
    fence = now
    redis.call('SET', key, string.format('%d', fence))
  end
  return fence
end
`;

// The fence counter and the lease move together, so two holders can never share a fence.
// ARGV: owner, ttl, deadline (server ms; 0 = none). -1: arrived after its sender gave up on it.
const ACQUIRE = `${LIB}
local now = serverMs()
if tonumber(ARGV[3]) > 0 and now > tonumber(ARGV[3]) then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fence = nextFence(KEYS[2], now)
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. string.format('%d', fence), 'PX', ARGV[2])
return fence`;

// Compare-and-delete: only the holder with this exact fence may give its lease up.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

const REGISTER = `local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS: members, member-api, registration. ARGV: id, nonce. A twin's leaving must not remove the other.
const LEAVE = `local reg = redis.call('GET', KEYS[3])
if reg and reg ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

// One round trip per tick, however many leases: a slow Redis costs one latency, not eight.
// KEYS: members, member-api, registration, duplicate flag, epoch, n lease keys, n fence keys, the
// holders' lease keys. ARGV: id, api, nonce, ttl, the epoch this process saw last ('' = none),
// deadline (server ms; 0 = none), n, the n held values (owner|fence).
// The epoch marks the data set: when it is missing, Redis lost its data (or this is the first
// member ever); a member that had seen one records the loss, and nobody takes a free lease for
// one ttl after it, while live holders re-take their own.
const ROUND = `${LIB}
local now = serverMs()
local deadline = tonumber(ARGV[6])
if deadline > 0 and now > deadline then return {'stale', now} end
local ttl = tonumber(ARGV[4])
local epoch = redis.call('GET', KEYS[5])
if not epoch then
  epoch = (ARGV[5] == '' and 'fresh:' or 'lost:') .. string.format('%d', now)
  redis.call('SET', KEYS[5], epoch)
end
local reg = redis.call('GET', KEYS[3])
if reg == false or reg == ARGV[3] then
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ttl)
else
  redis.call('SET', KEYS[4], '1', 'PX', ttl)
end
local duplicate = redis.call('EXISTS', KEYS[4])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local apis = {}
if #ids > 0 then apis = redis.call('HMGET', KEYS[2], unpack(ids)) end
local n = tonumber(ARGV[7])
local leases = {}
for i = 1, n do
  local cur = redis.call('GET', KEYS[5 + i])
  if cur == ARGV[7 + i] then
    redis.call('PEXPIRE', KEYS[5 + i], ttl)
    leases[i] = 0
  elseif not cur then
    local fence = nextFence(KEYS[5 + n + i], now)
    redis.call('SET', KEYS[5 + i], ARGV[1] .. '|' .. string.format('%d', fence), 'PX', ttl)
    leases[i] = fence
  else
    leases[i] = -1
  end
end
local holders = {}
if #KEYS > 5 + 2 * n then holders = redis.call('MGET', unpack(KEYS, 6 + 2 * n)) end
return {'ok', now, epoch, duplicate, ids, apis, leases, holders}`;

type RoundReply = ['stale', number] | ['ok', number, string, number, string[], (string | null)[], number[], (string | null)[]];

/**
 * Leases as Redis keys with server-side expiry (`<prefix>:lease:<stream>` = `<owner>|<fence>`),
 * and this process's registration under its member id (`<prefix>:instance:<id>` = a per-process
 * nonce), so that a second process with the same id is told apart.
 */
export class RedisLeaseStore implements LeaseStore {
  private readonly redis: Redis;
  private readonly nonce = randomUUID();
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private epoch = '';
  /** The server's clock at a local (monotonic) time: commands carry a deadline on it. */
  private clock: { readonly serverMs: number; readonly localMs: number } | undefined;

  /**
   * `commandTimeoutMs` bounds every command: a Redis that keeps the connection open but stops
   * answering must fail the coordinator's calls, not hold them (and its shutdown) forever.
   */
  constructor(url: string, private readonly prefix: string, opts: { readonly connectTimeoutMs?: number; readonly commandTimeoutMs?: number } = {}) {
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 2000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: this.connectTimeoutMs,
      commandTimeout: this.commandTimeoutMs,
    });
    this.redis.on('error', () => undefined);
  }

  private key(kind: string, id = ''): string {
    return `${this.prefix}:${kind}${id ? `:${id}` : ''}`;
  }

  async register(member: Member, ttlMs: number): Promise<boolean> {
    // The first command of a process: commands are not queued while connecting, so wait for it.
    await this.connected();
    return ((await this.redis.eval(REGISTER, 1, this.key('instance', member.id), this.nonce, String(ttlMs))) as number) === 1;
  }

  async round(member: Member, ttlMs: number, held: readonly Lease[], streamIds: readonly string[]): Promise<Round> {
    const sentAt = performance.now();
    const keys = [
      this.key('members'), this.key('member-api'), this.key('instance', member.id), this.key('instance-duplicate', member.id), this.key('epoch'),
      ...held.map((l) => this.key('lease', l.streamId)), ...held.map((l) => this.key('fence', l.streamId)), ...streamIds.map((id) => this.key('lease', id)),
    ];
    const args = [member.id, member.api ?? '', this.nonce, String(ttlMs), this.epoch, String(this.deadline()), String(held.length), ...held.map((l) => `${l.owner}|${l.fence}`)];
    const reply = (await this.redis.eval(ROUND, keys.length, ...keys, ...args)) as RoundReply;
    this.clock = { serverMs: reply[1], localMs: sentAt };
    if (reply[0] === 'stale') throw new Error('the lease store ran a round only after its sender had given up on it');
    const [, now, epoch, duplicate, ids, apis, leases, values] = reply;
    this.epoch = epoch;
    const lostAt = epoch.startsWith('lost:') ? Number(epoch.slice(5)) : undefined;
    const holders = new Map<string, Lease>();
    streamIds.forEach((streamId, i) => {
      const lease = parseLease(streamId, values[i] ?? null);
      if (lease) holders.set(streamId, lease);
    });
    return {
      members: ids.map((id, i) => ({ id, ...(apis[i] ? { api: apis[i] } : {}) })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      leases: held.map((l, i) => {
        const r = leases[i] ?? -1;
        return r === 0 ? l : r > 0 ? { streamId: l.streamId, owner: l.owner, fence: r } : undefined;
      }),
      holders,
      duplicate: duplicate === 1,
      settling: lostAt !== undefined && now < lostAt + ttlMs,
    };
  }

  /** Membership alone: a round without leases. */
  async heartbeat(member: Member, ttlMs: number): Promise<void> {
    await this.round(member, ttlMs, [], []);
  }

  async acquire(streamId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    const fence = (await this.redis.eval(ACQUIRE, 2, this.key('lease', streamId), this.key('fence', streamId), owner, String(ttlMs), String(this.deadline()))) as number;
    return fence > 0 ? { streamId, owner, fence } : undefined;
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key('lease', lease.streamId), `${lease.owner}|${lease.fence}`);
  }

  async leave(memberId: string): Promise<void> {
    await this.redis.eval(LEAVE, 3, this.key('members'), this.key('member-api'), this.key('instance', memberId), memberId, this.nonce);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private async connected(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => done(new Error(`no connection to the lease store within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      this.redis.once('ready', done);
    });
  }

  /**
   * The server time after which a command sent now must not act: its sender has given up on it
   * by then (a partition that TCP survives delivers it late, and a late renewal would re-take a
   * lease for a stream already stopped). The estimate errs late by at most the last round's
   * latency, itself under the timeout; 250 ms cover the two clocks' rate difference.
   */
  private deadline(): number {
    if (!this.clock) return 0;
    return Math.floor(this.clock.serverMs + (performance.now() - this.clock.localMs) + this.commandTimeoutMs + 250);
  }
}

function parseLease(streamId: string, value: string | null): Lease | undefined {
  if (!value) return undefined;
  const bar = value.lastIndexOf('|');
  return { streamId, owner: value.slice(0, bar), fence: Number(value.slice(bar + 1)) };
}
