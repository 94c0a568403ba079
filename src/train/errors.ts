import { AnalyticsError, ErrorCodes } from '../core/errors.js';

/** A training input (data, model directory, checkpoint) or state problem; `code` VA_ERR_TRAIN. */
export class TrainError extends AnalyticsError {
  constructor(message: string, context: Record<string, unknown> = {}, options: { cause?: unknown } = {}) {
    super(ErrorCodes.TRAIN, message, { context, ...(options.cause !== undefined ? { cause: options.cause } : {}) });
  }
}
