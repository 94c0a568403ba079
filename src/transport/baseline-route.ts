import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AnalyticsError, ErrorCodes } from '../core/errors.js';
import type { TrackId } from '../core/ids.js';
import type { BaselineControls } from '../pipeline/affect/baseline-affect.js';
import { sendJson } from './http-errors.js';
import { readJsonBody } from './read-json-body.js';
import { decodeSegment } from './request-target.js';

export const BASELINE_PATH = /^\/v1\/streams\/([^/]+)\/tracks\/([^/]+)\/baseline$/;

/** The document's bound: baseline.maxCalibrationSeconds' default (a daemon may set it lower or higher, up to 3600). */
export const CALIBRATION_SECONDS_LIMIT = 120;

/** The body of POST /v1/streams/{id}/tracks/{trackId}/baseline (bounded by `baseline.maxCalibrationSeconds`). */
export function calibrationPayload(maxSeconds: number) {
  return z.strictObject({
    seconds: z.number().positive().max(maxSeconds).describe(`Stream-time seconds, from the track's next analysed frame, taken as this person's neutral (at most baseline.maxCalibrationSeconds: ${CALIBRATION_SECONDS_LIMIT} by default).`),
  });
}

export interface CalibrationDeps {
  readonly baselines: Pick<BaselineControls, 'calibrate'> | undefined;
  readonly has: (streamId: string) => boolean;
  readonly maxSeconds: number;
  readonly maxBodyBytes: number;
}

const refuse = (code: (typeof ErrorCodes)[keyof typeof ErrorCodes], message: string, field?: string): AnalyticsError =>
  new AnalyticsError(code, message, field !== undefined ? { context: { field } } : {});

/**
 * POST /v1/streams/{id}/tracks/{trackId}/baseline {"seconds": N}: the track's next N seconds are
 * this person's neutral (pipeline/affect/baselines.ts). 202: started (events say `calibrating`,
 * then `calibrated`); 400 a malformed id, track id or body; 404 no such stream, or no such track
 * in its current run (ended, or no affect result yet); 409 the stream keeps no baselines (no
 * model, `baseline.enabled: false`, or not running). Refusals throw, for the server's error table.
 */
export async function calibrateBaseline(req: IncomingMessage, res: ServerResponse, rawId: string, rawTrack: string, deps: CalibrationDeps): Promise<void> {
  const id = decodeSegment(rawId);
  if (id === undefined) throw refuse(ErrorCodes.BAD_REQUEST, 'malformed stream id', 'id');
  const track = decodeSegment(rawTrack);
  if (track === undefined || !/^[1-9][0-9]{0,9}$/.test(track) || Number(track) > 2 ** 31 - 1) {
    throw refuse(ErrorCodes.BAD_REQUEST, 'the track id must be a positive integer (as in faces and affect events)', 'trackId');
  }
  const body = await readJsonBody(req, deps.maxBodyBytes);
  const parsed = calibrationPayload(deps.maxSeconds).safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : '(body)';
    throw refuse(ErrorCodes.BAD_REQUEST, `${field}: ${issue?.message ?? 'invalid'} (expected {"seconds": a number in (0, ${deps.maxSeconds}]})`, field);
  }
  if (!deps.has(id)) throw refuse(ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(id)}`);
  const trackId = Number(track) as TrackId;
  const outcome = deps.baselines?.calibrate(id, trackId, parsed.data.seconds) ?? 'no-stream';
  if (outcome === 'no-stream') {
    throw refuse(ErrorCodes.CONFLICT, `stream ${JSON.stringify(id)} keeps no baselines now (no affect model, baseline.enabled false, or the stream is not running)`);
  }
  if (outcome === 'no-track') throw refuse(ErrorCodes.NOT_FOUND, `stream ${JSON.stringify(id)} has no track ${trackId} with affect results in its current run`, 'trackId');
  sendJson(res, 202, { streamId: id, trackId, seconds: parsed.data.seconds, state: 'calibrating' });
}
