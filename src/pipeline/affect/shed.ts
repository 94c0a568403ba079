import { InferenceDroppedError } from '../../models/runtime/inference-queue.js';
import { ModelUnavailableError } from '../../models/runtime/model-host.js';

/**
 * Inference given up without a fault of the input: shed by the shared queue under load, or the
 * model's worker is restarting. The result is skipped and counted; anything else fails the stream.
 */
export function isShed(err: unknown): boolean {
  return err instanceof InferenceDroppedError || err instanceof ModelUnavailableError;
}
