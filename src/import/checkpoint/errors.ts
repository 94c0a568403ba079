import { ModelLoadError } from '../../core/errors.js';

/**
 * Stable codes for checkpoint failures; callers match on `code`, never on the message.
 * - FORMAT: the bytes are not a PyTorch checkpoint, or not one holding a state_dict.
 * - CORRUPT: it claims to be one but is truncated or internally inconsistent.
 * - UNSUPPORTED: well-formed, but uses something this reader deliberately does not handle
 *   (a pickle global outside the whitelist, big-endian data, bfloat16, pickled module source).
 */
export const CheckpointErrorCode = {
  format: 'VA_ERR_CHECKPOINT_FORMAT',
  corrupt: 'VA_ERR_CHECKPOINT_CORRUPT',
  unsupported: 'VA_ERR_CHECKPOINT_UNSUPPORTED',
} as const;

export type CheckpointErrorCode = (typeof CheckpointErrorCode)[keyof typeof CheckpointErrorCode];

export interface CheckpointErrorContext extends Readonly<Record<string, unknown>> {
  /** The file (or other label) the bytes came from, as given to the reader. */
  readonly source: string;
  readonly problem: string;
}

export class CheckpointError extends ModelLoadError {
  declare readonly code: CheckpointErrorCode;
  declare readonly context: CheckpointErrorContext;

  constructor(code: CheckpointErrorCode, source: string, problem: string, options?: { cause?: unknown }) {
    super(code, `${source}: ${problem}`, { ...(options ?? {}), context: { source, problem } });
  }
}

export function corrupt(source: string, problem: string, cause?: unknown): CheckpointError {
  return new CheckpointError(CheckpointErrorCode.corrupt, source, problem, cause === undefined ? undefined : { cause });
}

export function unsupported(source: string, problem: string): CheckpointError {
  return new CheckpointError(CheckpointErrorCode.unsupported, source, problem);
}

export function badFormat(source: string, problem: string, cause?: unknown): CheckpointError {
  return new CheckpointError(CheckpointErrorCode.format, source, problem, cause === undefined ? undefined : { cause });
}
