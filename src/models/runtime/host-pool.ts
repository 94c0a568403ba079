import { ModelUnavailableError, type HostHealth, type ModelHost } from './model-host.js';
import type { ArgOf, ModelApi, OpName, ResultOf } from './model-service.js';

/**
 * Several hosts of the same model (one worker per core) behind the one host contract: each call
 * goes to the ready host with the fewest calls in flight. Health is the worst of its hosts, so a
 * crashed worker turns readiness red until it is back, while the others keep serving.
 */
export class HostPool<Info, Api extends ModelApi<Api>> implements ModelHost<Info, Api> {
  private readonly inFlight: number[];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly hosts: readonly ModelHost<Info, Api>[],
    private readonly name: string,
  ) {
    if (hosts.length === 0) throw new RangeError('a host pool needs at least one host');
    this.inFlight = hosts.map(() => 0);
  }

  get info(): Info {
    return this.hosts[0]!.info;
  }

  get size(): number {
    return this.hosts.length;
  }

  call<K extends OpName<Api>>(op: K, arg: ArgOf<Api[K]>): Promise<ResultOf<Api[K]>> {
    let best = -1;
    this.hosts.forEach((h, i) => {
      if (h.health().state !== 'ready') return;
      if (best === -1 || this.inFlight[i]! < this.inFlight[best]!) best = i;
    });
    if (this.closing || best === -1) return Promise.reject(new ModelUnavailableError(this.name, this.closing ? 'closed' : 'every worker is restarting'));
    const i = best;
    this.inFlight[i]!++;
    return this.hosts[i]!.call(op, arg).finally(() => {
      this.inFlight[i]!--;
    });
  }

  async tensors(): Promise<number> {
    const counts = await Promise.all(this.hosts.map((h) => h.tensors().catch(() => 0)));
    return counts.reduce((a, b) => a + b, 0);
  }

  health(): HostHealth {
    const all = this.hosts.map((h) => h.health());
    const worst = all.find((h) => h.state === 'closed') ?? all.find((h) => h.state === 'restarting') ?? all[0]!;
    return { ...worst, name: this.name, restarts: all.reduce((a, h) => a + h.restarts, 0) };
  }

  /** The pool's hosts (to kill one in a drill). */
  members(): readonly ModelHost<Info, Api>[] {
    return this.hosts;
  }

  close(): Promise<void> {
    this.closing ??= Promise.all(this.hosts.map((h) => h.close())).then(() => undefined);
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
