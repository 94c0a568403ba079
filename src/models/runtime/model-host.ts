import { ErrorCodes, InferenceError } from '../../core/errors.js';
import type { ArgOf, ModelApi, OpName, ResultOf } from './model-service.js';

/** `restarting`: the model's worker died and is being brought back; calls fail fast meanwhile. */
export type HostState = 'ready' | 'restarting' | 'closed';

export interface HostHealth {
  readonly name: string;
  readonly where: 'thread' | 'worker';
  readonly state: HostState;
  /** Workers started after a crash, since the host opened. */
  readonly restarts: number;
  readonly lastError?: string;
  /** While restarting: the backoff delay before the next start (doubles per consecutive crash). */
  readonly restartDelayMs?: number;
}

/**
 * One loaded model, wherever it runs. The owner closes it (idempotent, also through
 * `await using`); a call on a host that is not ready rejects at once with
 * {@link ModelUnavailableError}, so callers can tell "no model right now" from a bad input.
 */
export interface ModelHost<Info, Api extends ModelApi<Api>> extends AsyncDisposable {
  readonly info: Info;
  call<K extends OpName<Api>>(op: K, arg: ArgOf<Api[K]>): Promise<ResultOf<Api[K]>>;
  /** Tensors alive in the host's own engine (0 in-thread: the daemon's count has them). */
  tensors(): Promise<number>;
  health(): HostHealth;
  close(): Promise<void>;
}

/** The model is not there right now (crashed and restarting, or closed): skip, don't fail. */
export class ModelUnavailableError extends InferenceError {
  constructor(host: string, why: string) {
    super(ErrorCodes.INFERENCE, `${host} model unavailable: ${why}`, { context: { host, unavailable: true } });
  }
}

export interface HostEvents {
  /** Every state change (ready ↔ restarting, closed), with the error that caused it. */
  readonly onState?: (health: HostHealth) => void;
}
