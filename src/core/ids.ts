export type StreamId = string & { readonly __brand: 'StreamId' };
export type TrackId = number & { readonly __brand: 'TrackId' };

/** Stream ids appear in URLs, metric labels and logs: keep them to a safe alphabet. */
export const STREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function asStreamId(id: string): StreamId {
  if (!STREAM_ID_PATTERN.test(id)) throw new RangeError(`invalid stream id ${JSON.stringify(id)}`);
  return id as StreamId;
}
