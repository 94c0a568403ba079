/** The parts of a WebSocket the policy needs (ws's WebSocket satisfies it). */
export interface PolicySocket {
  readonly bufferedAmount: number;
  send(text: string): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

export type Delivery = 'sent' | 'dropped' | 'closed';

/**
 * Per-client back-pressure: a client whose socket backlog exceeds `maxBufferedBytes` loses the
 * message (its own, nobody else's); one that stays behind longer than `maxBehindMs` is closed
 * with 1008 and cut off if it does not even read the close frame. Publishing never waits.
 */
export class SlowClientPolicy {
  private behindSince = 0;
  private closing = false;

  constructor(
    private readonly socket: PolicySocket,
    private readonly opts: { readonly maxBufferedBytes: number; readonly maxBehindMs: number; readonly terminateAfterMs?: number },
  ) {}

  deliver(text: string, now = Date.now()): Delivery {
    if (this.closing) return 'closed';
    if (this.socket.bufferedAmount <= this.opts.maxBufferedBytes) {
      this.behindSince = 0;
      this.socket.send(text);
      return 'sent';
    }
    if (this.behindSince === 0) this.behindSince = now;
    else if (now - this.behindSince > this.opts.maxBehindMs) {
      this.closing = true;
      this.socket.close(1008, 'client too slow');
      setTimeout(() => this.socket.terminate(), this.opts.terminateAfterMs ?? 30_000).unref();
      return 'closed';
    }
    return 'dropped';
  }
}
