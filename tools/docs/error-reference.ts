// The error-code reference: every code of src/core/errors.ts, the HTTP status the API maps it to
// (STATUS_FOR_CODE) and what it means (written by hand below). A code without an explanation, or
// an explanation of a code that no longer exists, stops the generator.
import { ErrorCodes, type ErrorCode } from '../../src/core/errors.js';
import { STATUS_FOR_CODE } from '../../src/transport/http-errors.js';
import { cell, code, table } from './markdown.js';

const MODEL_LOADING = 'model loading and validation';
const CHECKPOINT = 'PyTorch checkpoint reading';

/** Links are relative to docs/. */
export const ERROR_MEANINGS: Readonly<Record<ErrorCode, string>> = {
  VA_ERR_CONFIG: 'invalid configuration (exit 2)',
  VA_ERR_SOURCE_NOT_FOUND: 'the file does not exist',
  VA_ERR_SOURCE_FORBIDDEN:
    'file outside `files.roots` (HTTP 403; also when a symlink leads out at a later open), or a playlist-like format refused by `files.allowNestedFormats`',
  VA_ERR_SOURCE_SCHEME: 'URL scheme not supported (`file`, `rtsp`, `rtsps`, `demo` are)',
  VA_ERR_SOURCE_OPEN:
    'FFmpeg cannot open it: not media, truncated container; a camera whose host is not found (`context.reason: host-not-found`) or that refuses the connection (`connection-refused`)',
  VA_ERR_SOURCE_URL: 'a network URL that can never work: no host, unclosed `[`, invalid host name or port (HTTP 400)',
  VA_ERR_SOURCE_TIMEOUT: 'a camera accepted the connection and stayed silent past `rtsp.timeoutMs`',
  VA_ERR_SOURCE_TOO_LARGE: 'frames over `analysis.maxSourcePixels`, declared by the container or an image header',
  VA_ERR_SOURCE_NO_VIDEO: 'no video stream',
  VA_ERR_UNSUPPORTED_CODEC: 'no decoder for the video codec',
  VA_ERR_DECODE:
    '`analysis.maxConsecutiveDecodeErrors` undecodable packets in a row, or no frame could be decoded (single bad packets are skipped, not fatal); an image that cannot be decoded, or is truncated or damaged ([`daemon predict`](predict.md))',
  VA_ERR_MODEL_LOAD: `${MODEL_LOADING}: a model that cannot be loaded or run (for example an op the face-model converter does not handle)`,
  VA_ERR_MODEL_WEIGHTS: `${MODEL_LOADING}: weights missing, unexpected or of the wrong shape or kind`,
  VA_ERR_MODEL_MANIFEST: `${MODEL_LOADING}: an invalid \`manifest.json\``,
  VA_ERR_MODEL_FILES: `${MODEL_LOADING}: model directory or weight files missing, not regular files, or of the wrong size`,
  VA_ERR_MODEL_INPUT: `${MODEL_LOADING}: a graph whose input or output shape disagrees with the manifest, or faces of the wrong shape`,
  VA_ERR_CHECKPOINT_FORMAT: `${CHECKPOINT}: not a PyTorch checkpoint (neither a zip archive nor a pickle stream)`,
  VA_ERR_CHECKPOINT_CORRUPT: `${CHECKPOINT}: a damaged or truncated checkpoint`,
  VA_ERR_CHECKPOINT_UNSUPPORTED: `${CHECKPOINT}: a checkpoint feature the reader does not support`,
  VA_ERR_INFERENCE: 'inference failures at run time (a model worker that is restarting: `ModelUnavailableError`); `daemon predict` on a video in which no face was found',
  VA_ERR_TRANSPORT: 'failures at run time: a broker that cannot be reached or used, a client that aborted its request body',
  VA_ERR_BAD_REQUEST: 'HTTP API: a request that is not valid (417 for an `Expect` other than `100-continue`); bad command-line options',
  VA_ERR_NOT_FOUND: 'HTTP API: no such stream or route',
  VA_ERR_CONFLICT:
    'HTTP API: a duplicate stream id, or a cluster stream the API may not add or remove; a second live process with this `cluster.instanceId` (exit 1)',
  VA_ERR_PAYLOAD_TOO_LARGE: 'HTTP API: a body over `server.maxBodyBytes`; a control command over the same limit',
  VA_ERR_UNAUTHORIZED: 'missing/wrong token (401)',
  VA_ERR_LIMIT: 'too many streams (429); a full control backlog',
  VA_ERR_HOST_FORBIDDEN: '`Host` header not in `server.allowedHosts` (403)',
  VA_ERR_ORIGIN_FORBIDDEN: 'cross-origin WebSocket or state change, `Origin` not allowed (403)',
  VA_ERR_SNAPSHOT_FORBIDDEN: "a snapshot the stream's `privacy.snapshots` does not allow: `off`, or a raw one (`?blur=0`) of a `blurred` stream (403)",
  VA_ERR_UNSUPPORTED_MEDIA_TYPE: 'request body not `application/json` (415)',
  VA_ERR_METHOD_NOT_ALLOWED: 'method not taken by the route (405, with `Allow`), and `CONNECT`',
  VA_ERR_PERSISTENCE: 'a stream change could not be written to `persistence.file`; it was not made (HTTP 500)',
  VA_ERR_INTERNAL: 'failures at run time that have no code of their own (also: a stream command while the daemon shuts down)',
  VA_ERR_DATA_FORMAT:
    'a malformed training-data file (annotation, label list, manifest, clip JSON) or face image; the message names the file and line',
  VA_ERR_TRAIN: '`daemon train`: unusable data, model directory, checkpoint or run directory',
  VA_ERR_DOWNLOAD:
    '`daemon models pull`: the download failed (status, timeout, TLS, too large, full disk) or brought back something else (an HTML page, not a checkpoint, a hash that does not match)',
  VA_ERR_MODEL_NOT_FOUND: 'a model name that neither the catalogue nor the store holds',
  VA_ERR_RECORDING:
    'a recording could not be written (full disk `ENOSPC`, file size limit `EFBIG`, I/O error): the recording stops as `failed` with this error, its stream goes on; `POST …/recordings` answers 500 when the files cannot even be created',
  VA_ERR_DEVICE_UNAVAILABLE:
    '`device: gpu` (`model.device`, `detector.device`, `--device gpu`) that this host cannot honour: the message names what is missing (the CUDA provider library, a CUDA session, tfjs-node-gpu or its GPU device); the daemon does not start (exit 1), nothing runs on the CPU instead',
};

export function errorCodesTable(): string {
  const codes: readonly ErrorCode[] = Object.values(ErrorCodes);
  // The Record type makes a missing code a type error; this catches a stale one at run time.
  const stale = Object.keys(ERROR_MEANINGS).filter((c) => !(codes as readonly string[]).includes(c));
  if (stale.length > 0) throw new Error(`error codes: explained but not in src/core/errors.ts: ${stale.join(', ')} (edit tools/docs/error-reference.ts)`);
  const missing = codes.filter((c) => ERROR_MEANINGS[c] === undefined);
  if (missing.length > 0) throw new Error(`error codes: no explanation for ${missing.join(', ')} (edit tools/docs/error-reference.ts)`);
  return table(
    ['code', 'HTTP status', 'meaning'],
    codes.map((c) => [code(c), String(STATUS_FOR_CODE[c] ?? '—'), cell(ERROR_MEANINGS[c])]),
  );
}
