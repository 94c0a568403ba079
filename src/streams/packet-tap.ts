import type { Packet, Stream } from 'node-av/lib';
import type { PacketSink } from './video-recorder.js';

/**
 * A stream's packets as they arrive, for at most one sink at a time (a recording). The stream's
 * source feeds it on every open, whatever the sink; with no sink attached each call is a no-op.
 * It lives as long as the stream (across restarts and reconnects), so a recording can be attached
 * before the source opens and survives a camera's reconnect. Nothing it is handed is kept: the
 * sink copies what it needs while it is called.
 */
export class PacketTap implements PacketSink {
  private sink: PacketSink | undefined;
  private stream: Stream | undefined;

  get attached(): boolean {
    return this.sink !== undefined;
  }

  /** Throws if a sink is attached already (one recording per stream). */
  attach(sink: PacketSink): void {
    if (this.sink) throw new Error('a sink is attached already');
    this.sink = sink;
    if (this.stream) sink.beginPass(this.stream);
  }

  detach(sink: PacketSink): void {
    if (this.sink !== sink) return;
    this.sink = undefined;
    if (this.stream) sink.endPass();
  }

  beginPass(stream: Stream): void {
    this.stream = stream;
    this.sink?.beginPass(stream);
  }

  packet(pkt: Packet): void {
    this.sink?.packet(pkt);
  }

  frame(rawPts: bigint, pts: number, index: number): void {
    this.sink?.frame(rawPts, pts, index);
  }

  endPass(): void {
    this.stream = undefined;
    this.sink?.endPass();
  }
}

/** The packets of `source`, each shown to the tap before whoever reads them (the decoder) gets it. */
export async function* tapPackets(source: AsyncGenerator<Packet | null>, tap: PacketSink): AsyncGenerator<Packet | null> {
  try {
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      if (next.value) tap.packet(next.value);
      yield next.value;
    }
  } finally {
    await source.return(undefined);
  }
}
