import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest-random-weight) hashing: the owner of a stream is the live member with the
 * highest hash of (member, stream). Every instance computes the same owner from the same member
 * list, a member that leaves moves only its own streams, and one that returns takes back exactly
 * its share.
 */
export function rendezvousOwner(streamId: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const m of members) {
    const score = createHash('sha256').update(m).update('\0').update(streamId).digest().readBigUInt64BE(0);
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}
