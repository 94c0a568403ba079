/**
 * Stable error codes. Match on `code`, never on message text; docs/errors.md lists them (generated from this table).
 */
export const ErrorCodes = {
  CONFIG: 'VA_ERR_CONFIG',
  SOURCE_NOT_FOUND: 'VA_ERR_SOURCE_NOT_FOUND',
  SOURCE_FORBIDDEN: 'VA_ERR_SOURCE_FORBIDDEN',
  SOURCE_SCHEME: 'VA_ERR_SOURCE_SCHEME',
  SOURCE_OPEN: 'VA_ERR_SOURCE_OPEN',
  SOURCE_URL: 'VA_ERR_SOURCE_URL',
  SOURCE_TIMEOUT: 'VA_ERR_SOURCE_TIMEOUT',
  SOURCE_TOO_LARGE: 'VA_ERR_SOURCE_TOO_LARGE',
  SOURCE_NO_VIDEO: 'VA_ERR_SOURCE_NO_VIDEO',
  UNSUPPORTED_CODEC: 'VA_ERR_UNSUPPORTED_CODEC',
  DECODE: 'VA_ERR_DECODE',
  MODEL_LOAD: 'VA_ERR_MODEL_LOAD',
  MODEL_WEIGHTS: 'VA_ERR_MODEL_WEIGHTS',
  MODEL_MANIFEST: 'VA_ERR_MODEL_MANIFEST',
  MODEL_FILES: 'VA_ERR_MODEL_FILES',
  MODEL_INPUT: 'VA_ERR_MODEL_INPUT',
  CHECKPOINT_FORMAT: 'VA_ERR_CHECKPOINT_FORMAT',
  CHECKPOINT_CORRUPT: 'VA_ERR_CHECKPOINT_CORRUPT',
  CHECKPOINT_UNSUPPORTED: 'VA_ERR_CHECKPOINT_UNSUPPORTED',
  INFERENCE: 'VA_ERR_INFERENCE',
  TRANSPORT: 'VA_ERR_TRANSPORT',
  BAD_REQUEST: 'VA_ERR_BAD_REQUEST',
  NOT_FOUND: 'VA_ERR_NOT_FOUND',
  CONFLICT: 'VA_ERR_CONFLICT',
  PAYLOAD_TOO_LARGE: 'VA_ERR_PAYLOAD_TOO_LARGE',
  UNAUTHORIZED: 'VA_ERR_UNAUTHORIZED',
  LIMIT: 'VA_ERR_LIMIT',
  HOST_FORBIDDEN: 'VA_ERR_HOST_FORBIDDEN',
  ORIGIN_FORBIDDEN: 'VA_ERR_ORIGIN_FORBIDDEN',
  UNSUPPORTED_MEDIA_TYPE: 'VA_ERR_UNSUPPORTED_MEDIA_TYPE',
  METHOD_NOT_ALLOWED: 'VA_ERR_METHOD_NOT_ALLOWED',
  /** A stream change could not be written to the state file (and was rolled back). */
  PERSISTENCE: 'VA_ERR_PERSISTENCE',
  INTERNAL: 'VA_ERR_INTERNAL',
  DATA_FORMAT: 'VA_ERR_DATA_FORMAT',
  TRAIN: 'VA_ERR_TRAIN',
  /** A model download failed or brought back something other than what the catalogue promised. */
  DOWNLOAD: 'VA_ERR_DOWNLOAD',
  /** A model name that the model store does not hold. */
  MODEL_NOT_FOUND: 'VA_ERR_MODEL_NOT_FOUND',
  /** A snapshot the stream's privacy.snapshots does not allow (off, or raw of a blurred stream). */
  SNAPSHOT_FORBIDDEN: 'VA_ERR_SNAPSHOT_FORBIDDEN',
  /** A recording could not be written (disk full, file size limit, I/O error): it stopped; its stream goes on. */
  RECORDING: 'VA_ERR_RECORDING',
  /** `device: gpu` (model.device, detector.device, --device) that this host cannot honour; the message names what is missing. */
  DEVICE_UNAVAILABLE: 'VA_ERR_DEVICE_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class AnalyticsError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = Object.freeze({ ...(options.context ?? {}) });
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export class ConfigError extends AnalyticsError {
  constructor(readonly problems: readonly string[]) {
    super(ErrorCodes.CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`, { context: { problems } });
  }
}

export class SourceError extends AnalyticsError {}
export class DecodeError extends AnalyticsError {}
export class ModelLoadError extends AnalyticsError {}
export class InferenceError extends AnalyticsError {}
export class TransportError extends AnalyticsError {}
export class PersistenceError extends AnalyticsError {}

/** Normalises anything thrown into an AnalyticsError, keeping the original as `cause`. */
export function asAnalyticsError(err: unknown, fallback: ErrorCode = ErrorCodes.INTERNAL): AnalyticsError {
  if (err instanceof AnalyticsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AnalyticsError(fallback, message, { cause: err });
}
