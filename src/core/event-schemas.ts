/**
 * The events the daemon publishes (WebSocket and brokers), as zod schemas: the one source of the
 * TypeScript types (records.ts infers them) and of the JSON Schemas committed under
 * docs/api/events/ (tools/gen-docs.ts writes them with eventJsonSchema). Every field says its unit
 * and range; the objects are closed, so a field added in the code and not here fails the tests that
 * validate the events they receive.
 */
import { z } from 'zod';
import { AU_LABELS, EXPR_LABELS } from './affect-labels.js';
import { GATE_REASONS } from './face-measures.js';
import type { StreamId } from './ids.js';
import { STREAM_ID_PATTERN } from './ids.js';

/**
 * Version of the event schemas, one number for every type. It moves on any change of shape (a
 * field added, removed, renamed, retyped, or a range or list of values changed): the objects are
 * closed, so even an added field would fail a consumer that validates against the old version.
 * Broker messages carry it as `schemaVersion`; the WebSocket does not (see docs/events.md).
 */
export const EVENT_SCHEMA_VERSION = 2;

// zod brands with its own marker; ours is the `__brand` of ids.ts. The runtime check is the same
// pattern asStreamId applies, so the cast only names the brand.
const streamIdOf = (what: string): z.ZodType<StreamId> =>
  z.string().regex(STREAM_ID_PATTERN).describe(what) as unknown as z.ZodType<StreamId>;
const streamId = streamIdOf('The stream, as configured or added through the API (1–64 of A–Z a–z 0–9 _ . -, starting with a letter or digit).');
const schemaVersion = z
  .literal(EVENT_SCHEMA_VERSION)
  .exactOptional()
  .describe('Version of this schema. Present on broker messages (the sink adds it to every message), absent on the WebSocket.');
const ts = z.iso
  .datetime()
  .describe('Wall clock, ISO 8601 in UTC with milliseconds: when the frame left the decoder; for a stream event, or a track end outside a frame, when it happened.');
const frame = z.int().min(0).describe('Decoded-frame counter from 0 (frames dropped before analysis keep their numbers).');
const pts = z
  .number()
  .describe('Stream time in seconds, rounded to 0.1 ms: from the first decoded frame, growing across loops of a looping file. Follows the source timestamps, so a source with broken ones can make it go back.');
const trackId = z.int().min(1).describe('Face track, numbered from 1 per stream run; the same face keeps its id while it is tracked.');
const pixel = (what: string): z.ZodNumber => z.number().min(0).describe(`${what}, source-frame pixels rounded to 0.1 (≥ 0, within the frame).`);
const probability = (what: string): z.ZodNumber => z.number().min(0).max(1).describe(`${what}: in [0, 1], rounded to 1e-5.`);

const spread = (what: string): z.ZodNumber => z.number().min(0).max(1).describe(`${what}: a population standard deviation, ≥ 0, rounded to 1e-5.`);
const share = (what: string): z.ZodNumber => z.number().min(0).max(1).describe(`${what}: a share in [0, 1], rounded to 1e-5.`);

function byLabel<L extends string, S extends z.ZodType>(labels: readonly [L, ...L[]], value: (label: L) => S): z.ZodReadonly<z.ZodObject<Record<L, S>, z.core.$strict>> {
  const shape = Object.fromEntries(labels.map((l) => [l, value(l)])) as Record<L, S>;
  return z.strictObject(shape).readonly();
}

/** A track's baseline, as affect events report it (pipeline/affect/baselines.ts keeps them). */
export const BASELINE_STATES = ['none', 'running', 'calibrating', 'calibrated'] as const;

export const STREAM_STATES = ['starting', 'running', 'reconnecting', 'ended', 'failed', 'removed'] as const;

export const streamEventSchema = z
  .strictObject({
    type: z.literal('stream').describe('Event type: a stream changed state.'),
    schemaVersion,
    streamId,
    state: z
      .enum(STREAM_STATES)
      .describe('The new state. `removed` is published once, when the stream is deleted; it never shows in the API or the metrics.'),
    error: z
      .strictObject({
        code: z.string().regex(/^VA_ERR_[A-Z0-9_]+$/).describe('Stable error code (docs/errors.md).'),
        message: z.string().describe('What went wrong, in words; URL credentials are scrubbed.'),
      })
      .readonly()
      .exactOptional()
      .describe('Why the stream failed: only with state `failed`.'),
    ts,
  })
  .readonly()
  .meta({ title: 'stream event', description: 'A stream changed state (starting, running, reconnecting, ended, failed, removed).' });

const degrees = (what: string): z.ZodNumber => z.number().min(-180).max(180).describe(`${what}, degrees rounded to 0.1.`);
const faceQualitySchema = z
  .strictObject({
    score: z.number().min(0).max(1).describe("The detector's (face mesh presence) score in [0, 1], rounded to 0.001."),
    interocularPx: z.number().min(0).describe('Distance between the two eye centres, source-frame pixels rounded to 0.1: the face size.'),
    sharpness: z
      .number()
      .min(0)
      .describe('Variance of the Laplacian of the grey aligned face crop, resampled to 112×112 whatever the face size (grey levels², rounded to 0.1); lower is blurrier.'),
    pose: z
      .strictObject({
        yaw: degrees("Yaw: positive when the face turns towards the image's right (the person's left)"),
        pitch: degrees('Pitch: positive when the face tilts up; its zero is not calibrated'),
        roll: degrees("Roll: the eye line's angle, positive when the head tilts clockwise in the image"),
      })
      .readonly()
      .exactOptional()
      .describe('Head pose from the face mesh (geometry of its 468 points, not a trained pose model); absent from detectors without a mesh.'),
    eyes: z
      .strictObject({
        left: z.number().min(0).describe("Eye aspect ratio of the eye on the image's left (Soukupová & Čech), rounded to 0.001."),
        right: z.number().min(0).describe("Eye aspect ratio of the eye on the image's right, rounded to 0.001."),
        closure: z
          .number()
          .min(0)
          .max(1)
          .describe("Eye closure in [0, 1] (0 as open as this track's eyes usually are, 1 as closed as the mesh draws a closed eye), rounded to 0.001."),
        perclos: z.number().min(0).max(1).describe('PERCLOS: the share of the last 60 s of this track (or of its life, if shorter) with eyes more than 80 % closed, rounded to 0.001.'),
        blinkRate: z.number().min(0).describe('Blinks per minute over the last 60 s of this track (or its life, if shorter), rounded to 0.1.'),
      })
      .readonly()
      .exactOptional()
      .describe('Eye closure from the face mesh’s eye contours: geometric measures, not a trained AU45 (eye closure) detector; absent from detectors without a mesh.'),
    gated: z
      .array(z.enum(GATE_REASONS))
      .readonly()
      .describe("Why this face is left out of affect analysis in this frame (the stream's `quality` thresholds it fails); empty when it is analysed. A gated face gets no affect event for the frame and does not enter the model's window or the smoothing."),
  })
  .readonly()
  .describe('How far this face can be trusted in this frame.');

const faceSchema = z
  .strictObject({
    trackId,
    box: z
      .tuple([pixel('Left edge x'), pixel('Top edge y'), pixel('Width'), pixel('Height')])
      .readonly()
      .describe('Face box [x, y, width, height] in source-frame pixels, clipped to the frame.'),
    score: z.number().min(0).max(1).describe('Detector confidence in [0, 1], rounded to 0.001.'),
    landmarks: z
      .array(z.tuple([z.number().describe('x, source-frame pixels rounded to 0.1'), z.number().describe('y, source-frame pixels rounded to 0.1')]).readonly())
      .length(5)
      .readonly()
      .describe('Five points [x, y] in source-frame pixels (may fall outside the frame), in image order: the eye on the left of the image, the eye on the right, nose tip, left and right mouth corners.'),
    quality: faceQualitySchema,
  })
  .readonly()
  .describe('One detected and tracked face.');

export const facesEventSchema = z
  .strictObject({
    type: z.literal('faces').describe('Event type: the faces of one analysed frame.'),
    schemaVersion,
    streamId,
    frame,
    pts,
    ts,
    width: z.int().min(1).describe('Source frame width in pixels.'),
    height: z.int().min(1).describe('Source frame height in pixels.'),
    faces: z.array(faceSchema).readonly().describe('The faces found in the frame; empty when there are none.'),
  })
  .readonly()
  .meta({ title: 'faces event', description: 'Every analysed frame gets one, with the faces found in it (none: an empty list).' });

export const trackEventSchema = z
  .strictObject({
    type: z.literal('track').describe('Event type: a face track started or ended.'),
    schemaVersion,
    streamId,
    trackId,
    state: z
      .enum(['started', 'ended'])
      .describe("`started` comes before the frame's faces event, `ended` after it; every track that starts ends (lost, stream ended or failed, restart, DELETE)."),
    frame: frame.describe('The frame the track started on, the frame it was found lost on, or, for an end outside a frame (stream ended, failed, restarted, deleted), the last frame of the run.'),
    ts,
  })
  .readonly()
  .meta({ title: 'track event', description: 'A face track started or ended.' });

export const affectEventSchema = z
  .strictObject({
    type: z.literal('affect').describe('Event type: the affect of one tracked face in one frame.'),
    schemaVersion,
    streamId: z.string().regex(STREAM_ID_PATTERN).describe(streamId.description ?? ''),
    trackId,
    frame,
    pts,
    ts,
    au: z
      .strictObject({
        probs: byLabel(AU_LABELS, (l) => probability(`Probability that ${l} is active`)).describe('Action Unit probabilities, one per AU.'),
        active: byLabel(AU_LABELS, (l) => z.boolean().describe(`Whether ${l} is active: its probability is above the model's threshold for it.`)).describe(
          "Action Units above the model's per-AU thresholds.",
        ),
        spread: byLabel(AU_LABELS, (l) => spread(`Spread of the members' ${l} probabilities`))
          .exactOptional()
          .describe("Uncertainty: per AU, the standard deviation (÷ k) of the k ensemble members' probabilities for this frame; absent for a single model."),
        windowSpread: byLabel(AU_LABELS, (l) => spread(`Spread of ${l} over the window`))
          .exactOptional()
          .describe("Uncertainty, CNN-RNN models: per AU, the standard deviation of the ensemble's probabilities over the positions of the window that decided this frame."),
      })
      .readonly()
      .exactOptional()
      .describe('Facial Action Units; absent for a model without an AU head.'),
    expr: z
      .strictObject({
        probs: byLabel(EXPR_LABELS, (l) => probability(`Probability of ${l}`)).describe('Expression probabilities, summing to 1 (up to rounding).'),
        label: z.enum(EXPR_LABELS).describe('The most probable expression.'),
        entropy: share('Uncertainty: Shannon entropy of the (mean) distribution divided by ln 7 (0 certain, 1 uniform)'),
        margin: share('Uncertainty: the largest probability minus the second largest'),
        agreement: share("Uncertainty: the share of ensemble members whose own most probable expression is `label`; absent for a single model").exactOptional(),
        windowAgreement: share("Uncertainty, CNN-RNN models: the share of the deciding window's positions whose most probable expression is this frame's").exactOptional(),
      })
      .readonly()
      .describe('Basic expression (seven classes).'),
    va: z
      .strictObject({
        valence: z.number().min(-1).max(1).describe('Valence in [-1, 1] (negative to positive), rounded to 1e-5.'),
        arousal: z.number().min(-1).max(1).describe('Arousal in [-1, 1] (calm to excited), rounded to 1e-5.'),
        std: z
          .strictObject({ valence: spread('Spread of the members’ valence'), arousal: spread('Spread of the members’ arousal') })
          .readonly()
          .exactOptional()
          .describe("Uncertainty: the standard deviation (÷ k) of the k ensemble members' valence and arousal; absent for a single model."),
        windowStd: z
          .strictObject({ valence: spread('Spread of valence over the window'), arousal: spread('Spread of arousal over the window') })
          .readonly()
          .exactOptional()
          .describe("Uncertainty, CNN-RNN models: the standard deviation of the ensemble's valence and arousal over the positions of the window that decided this frame."),
      })
      .readonly()
      .exactOptional()
      .describe('Valence and arousal; absent for a model without a VA head.'),
    baseline: z
      .strictObject({
        state: z
          .enum(BASELINE_STATES)
          .describe(
            "`none`: this track has no baseline yet (a new track, seen for less than `baseline.minSeconds`); `running`: a percentile of the track's own values over a sliding window; `calibrating`: a calibration (POST …/tracks/{trackId}/baseline) is taking this person's neutral, the previous baseline (if any) is still shown; `calibrated`: taken over the calibration's frames, fixed until the track ends.",
          ),
        samples: z.int().min(0).describe('Analysed frames of this track the baseline is taken over (with state `none`: the frames seen so far).'),
        au: z
          .strictObject({
            probs: byLabel(AU_LABELS, (l) => probability(`Baseline of ${l}'s probability`)).describe("Per AU, the track's baseline of its probability."),
            delta: byLabel(AU_LABELS, (l) => z.number().min(-1).max(1).describe(`${l}'s probability minus its baseline, in [-1, 1], rounded to 1e-5.`)).describe('Per AU, `au.probs` minus the baseline.'),
          })
          .readonly()
          .exactOptional()
          .describe('AU baselines and differences; absent without a baseline or an AU head.'),
        expr: z
          .strictObject({
            probs: byLabel(EXPR_LABELS, (l) => probability(`Baseline of the probability of ${l}`)).describe("Per expression, the track's baseline of its probability."),
            delta: byLabel(EXPR_LABELS, (l) => z.number().min(-1).max(1).describe(`The probability of ${l} minus its baseline, in [-1, 1], rounded to 1e-5.`)).describe('Per expression, `expr.probs` minus the baseline.'),
          })
          .readonly()
          .exactOptional()
          .describe('Expression baselines (per class: the baselines do not sum to 1) and differences; absent without a baseline.'),
        va: z
          .strictObject({
            valence: z.number().min(-1).max(1).describe('Baseline of valence, rounded to 1e-5.'),
            arousal: z.number().min(-1).max(1).describe('Baseline of arousal, rounded to 1e-5.'),
            delta: z
              .strictObject({
                valence: z.number().min(-2).max(2).describe('Valence minus its baseline, in [-2, 2], rounded to 1e-5.'),
                arousal: z.number().min(-2).max(2).describe('Arousal minus its baseline, in [-2, 2], rounded to 1e-5.'),
              })
              .readonly()
              .describe('Valence and arousal minus their baselines.'),
          })
          .readonly()
          .exactOptional()
          .describe('Valence and arousal baselines and differences; absent without a baseline or a VA head.'),
      })
      .readonly()
      .exactOptional()
      .describe("This person's baseline (docs/events.md, \"Baselines\"): per output of this event, the track's own resting value and the difference from it. Absent when `baseline.enabled` is false."),
    model: z
      .strictObject({
        id: z.string().min(1).describe("The model's id (its manifest)."),
        version: z.string().min(1).describe("The model's version (its manifest)."),
      })
      .readonly()
      .describe('The model that produced the scores.'),
    latencyMs: z.number().min(0).describe('Milliseconds from the frame leaving the decoder to this event, rounded to 0.1.'),
  })
  .readonly()
  .meta({
    title: 'affect event',
    description: 'The affect of one tracked face in one frame (smoothed over time when smoothing is on): Action Units, expression, valence and arousal.',
  });

export const blinkEventSchema = z
  .strictObject({
    type: z.literal('blink').describe('Event type: a tracked face blinked (its eyes closed and opened again).'),
    schemaVersion,
    streamId,
    trackId,
    frame: frame.describe('The first frame with the eyes closed.'),
    pts: pts.describe('Stream time of the first frame with the eyes closed, seconds rounded to 0.1 ms.'),
    ts: ts.describe('Wall clock, ISO 8601 in UTC with milliseconds, of the first frame with the eyes closed.'),
    durationMs: z.number().min(0).describe('From the first closed frame to the first open one, milliseconds rounded to 0.1 (so a multiple of the frame period).'),
    minEyeAspect: z.number().min(0).describe('The lowest mean eye aspect ratio of the two eyes during the blink, rounded to 0.001.'),
  })
  .readonly()
  .meta({
    title: 'blink event',
    description:
      "A blink of a tracked face, published when the eyes open again: closure (faces events' `quality.eyes.closure`) at or above 0.5 from the first closed frame to the first open one. Geometric, from the face mesh's eye contours; not a trained AU45 detector.",
  });

/** A JSON value a client attaches to a marker (bounded in size by the API, not here). */
const jsonValue: z.ZodType<unknown> = z.unknown().describe('Any JSON value the client sent with the marker, as sent.');

export const markerEventSchema = z
  .strictObject({
    type: z.literal('marker').describe('Event type: a client marked a moment of the stream (POST /v1/streams/{id}/markers).'),
    schemaVersion,
    streamId,
    label: z.string().min(1).max(200).describe('What the moment is, as the client named it (1–200 characters).'),
    data: jsonValue.exactOptional(),
    pts: pts
      .exactOptional()
      .describe("Stream time in seconds of the stream's latest analysed frame when the marker was set; absent before the first one."),
    recordingId: z.string().exactOptional().describe('The recording that stores the marker, when the stream was being recorded.'),
    ts: z.iso.datetime().describe('Wall clock, ISO 8601 in UTC with milliseconds: when the daemon received the marker.'),
  })
  .readonly()
  .meta({ title: 'marker event', description: 'A moment a client marked (a stimulus shown, a task begun); stored in the stream\'s recording at its pts.' });

export const EVENT_SCHEMAS = {
  stream: streamEventSchema,
  faces: facesEventSchema,
  track: trackEventSchema,
  affect: affectEventSchema,
  blink: blinkEventSchema,
  marker: markerEventSchema,
} as const;

export type EventSchemaType = keyof typeof EVENT_SCHEMAS;

/** The URI naming one type's schema at this version (its `$id`). */
export function eventSchemaId(type: EventSchemaType): string {
  return `urn:affect-daemon:event:${type}:v${EVENT_SCHEMA_VERSION}`;
}

/** A JSON Schema (draft 2020-12) object, as zod writes it. */
export type JsonSchemaDocument = Record<string, unknown>;

/**
 * The JSON Schema of one event type, as committed in docs/api/events/<type>.schema.json. zod's
 * `readOnly` marks (from `.readonly()`, which gives the types their readonly) are dropped: for a
 * message they say nothing a consumer can act on.
 */
export function eventJsonSchema(type: EventSchemaType): JsonSchemaDocument {
  const body = z.toJSONSchema(EVENT_SCHEMAS[type], {
    target: 'draft-2020-12',
    io: 'output',
    unrepresentable: 'throw',
    override: (ctx) => {
      delete (ctx.jsonSchema as { readOnly?: unknown }).readOnly;
    },
  });
  const { $schema, ...rest } = body as JsonSchemaDocument;
  return { $schema, $id: eventSchemaId(type), ...rest };
}
