import { describe, expect, it } from 'vitest';
import { ErrorCodes, type ErrorCode } from '../core/errors.js';
import { PROTOCOL_STATUS, STATUS_FOR_CODE, errorAnswer, statusFor } from './http-errors.js';

describe('the HTTP status of an error code', () => {
  it('is the table entry for a client mistake, 500 for every other code', () => {
    // The statuses clients have always seen; VA_ERR_SOURCE_OPEN (a file: URL that names no local
    // file) was 400 over HTTP and 500 over a broker's control topic until it joined the table.
    expect(STATUS_FOR_CODE).toEqual({
      VA_ERR_BAD_REQUEST: 400,
      VA_ERR_SOURCE_SCHEME: 400,
      VA_ERR_SOURCE_URL: 400,
      VA_ERR_SOURCE_OPEN: 400,
      VA_ERR_UNAUTHORIZED: 401,
      VA_ERR_SOURCE_FORBIDDEN: 403,
      VA_ERR_HOST_FORBIDDEN: 403,
      VA_ERR_ORIGIN_FORBIDDEN: 403,
      // Snapshots of a stream with privacy.snapshots: off (or unblurred ones of a blurred stream).
      VA_ERR_SNAPSHOT_FORBIDDEN: 403,
      VA_ERR_NOT_FOUND: 404,
      VA_ERR_METHOD_NOT_ALLOWED: 405,
      VA_ERR_CONFLICT: 409,
      VA_ERR_PAYLOAD_TOO_LARGE: 413,
      VA_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
      VA_ERR_LIMIT: 429,
    });
    for (const code of Object.values(ErrorCodes) as ErrorCode[]) {
      const status = statusFor(code);
      expect(STATUS_FOR_CODE[code] === undefined ? status === 500 : status >= 400 && status < 500, code).toBe(true);
    }
  });

  it('names the statuses HTTP itself decides (no error code stands for them) once', () => {
    expect(PROTOCOL_STATUS).toEqual({ requestTimeout: 408, rangeNotSatisfiable: 416, expectationFailed: 417, upgradeRequired: 426, headersTooLarge: 431, unavailable: 503 });
  });

  it('renders any thrown value as one envelope: status from the code, the field the error names', () => {
    expect(errorAnswer(new Error('boom'))).toEqual({ status: 500, error: { code: 'VA_ERR_INTERNAL', message: 'boom' } });
  });
});
