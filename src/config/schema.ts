import { z } from 'zod';
import { STREAM_ID_PATTERN } from '../core/ids.js';
import { sinksSchema } from './sink-schema.js';

function isOrigin(v: string): boolean {
  if (v === '*') return true;
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === v.replace(/\/$/, '').toLowerCase();
  } catch {
    return false;
  }
}

/** Hardware decoding: opt-in, and software whenever the hardware asked for is not usable. */
const hwaccelSchema = z.enum(['none', 'auto', 'cuda', 'vaapi', 'qsv']);

/** The `quality:` thresholds (each null = off); see pipeline/quality/gate.ts. */
const qualityGateSchema = z.strictObject({
  /** Minimum detector (mesh presence) score, in [0, 1]. */
  minScore: z.number().min(0).max(1).nullable().default(null),
  /** Minimum inter-ocular distance (face size), source-frame pixels. */
  minFacePx: z.number().min(0).max(10_000).nullable().default(null),
  /** Minimum sharpness (variance of the Laplacian of the 112×112 grey aligned crop, grey levels²). */
  minSharpness: z.number().min(0).nullable().default(null),
  /** Largest |yaw| in degrees. */
  maxAbsYawDeg: z.number().min(0).max(180).nullable().default(null),
  /** Largest |pitch| in degrees (its zero is not calibrated: see docs/events.md). */
  maxAbsPitchDeg: z.number().min(0).max(180).nullable().default(null),
});

export const streamSchema = z.strictObject({
  id: z.string().regex(STREAM_ID_PATTERN, 'must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}'),
  url: z.string().min(1).max(4096),
  /** Pace file sources at their frame rate, as a camera would; false = as fast as analysis allows. */
  realtime: z.boolean().default(true),
  loop: z.boolean().default(false),
  /** Frames analysed per second of stream time for this stream (overrides analysis.analysisFps). */
  analysisFps: z.number().positive().max(240).optional(),
  /** RTSP transport for this stream (overrides rtsp.transport). */
  transport: z.enum(['tcp', 'udp']).optional(),
  /** Hardware decoding for this stream (overrides analysis.hwaccel). */
  hwaccel: hwaccelSchema.optional(),
  /** Face-quality gating for this stream: each key given (null = off) overrides the daemon's `quality`. */
  quality: z
    .strictObject({
      minScore: z.number().min(0).max(1).nullable().optional(),
      minFacePx: z.number().min(0).max(10_000).nullable().optional(),
      minSharpness: z.number().min(0).nullable().optional(),
      maxAbsYawDeg: z.number().min(0).max(180).nullable().optional(),
      maxAbsPitchDeg: z.number().min(0).max(180).nullable().optional(),
    })
    .optional(),
  /**
   * What GET /v1/streams/{id}/snapshot.jpg may show: `raw` frames (`?blur=1` blurs the faces),
   * only `blurred` ones, or nothing (`off`: no frame is even kept). Default `raw`, but `off` for
   * push streams (/v1/ingest/{id}) unless their client asks for more.
   */
  privacy: z.strictObject({ snapshots: z.enum(['raw', 'blurred', 'off']) }).optional(),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,253}$/, 'expected a host name or IP address (IPv6 without brackets)')
        .default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      maxBodyBytes: z.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024),
      maxWsClients: z.number().int().min(1).max(100_000).default(256),
      /** Messages queued per WebSocket client before the oldest are dropped. */
      wsQueueMessages: z.number().int().min(16).max(1_000_000).default(2048),
      /** A client whose backlog stays over the limit this long is closed with 1008 (policy violation). */
      wsMaxBehindMs: z.number().int().min(100).max(600_000).default(10_000),
      /** WebSocket clients are pinged this often; one that did not answer the previous ping is cut off (0 = off). */
      wsPingMs: z.union([z.literal(0), z.number().int().min(100).max(3_600_000)]).default(30_000),
      shutdownTimeoutMs: z.number().int().min(100).max(60_000).default(4000),
      maxStreams: z.number().int().min(1).max(10_000).default(64),
      /**
       * Host names (any port) the daemon answers for besides localhost, 127.0.0.1, [::1] and a
       * non-wildcard bind host; '*' = any (turns off the DNS-rebinding defence).
       */
      allowedHosts: z
        .array(z.string().regex(/^(\*|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9._-]+)$/, "a host name or IP address without port, or '*'"))
        .default([]),
      /** Origins (scheme://host[:port]) allowed to open the WebSocket and change state besides same-origin pages; '*' = any. */
      allowedOrigins: z
        .array(z.string().refine(isOrigin, "an origin like https://dash.example.com (scheme, host, optional port; no path), or '*'"))
        .default([]),
      /** Most frames per second a stream's snapshot (GET /v1/streams/{id}/snapshot.jpg, the live page) is refreshed and encoded. */
      snapshotMaxFps: z.number().positive().max(30).default(2),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** Bearer token for the HTTP API and the WebSocket (null = no auth). */
      token: z
        .string()
        .min(16, 'use at least 16 characters')
        .max(4096)
        // Node reads header values as latin1 and the Bearer parser stops at whitespace: a token with
        // anything but visible ASCII could never be sent, and nobody could authenticate.
        .regex(/^[\x21-\x7e]*$/, 'use visible ASCII only (no spaces, newlines or other control or non-ASCII characters): such a token cannot be sent in an Authorization header')
        .nullable()
        .default(null),
      /** Also require the token for /healthz and /readyz. */
      protectProbes: z.boolean().default(false),
      /** Also require the token for /metrics. */
      protectMetrics: z.boolean().default(false),
    })
    .prefault({}),
  /** Frames pushed by clients over the WebSocket /v1/ingest/{id} (docs/ingest.md): the browser's camera on the live page, or any app. */
  ingest: z
    .strictObject({
      /** Accept push streams (token and Origin are checked as for every request). */
      enabled: z.boolean().default(true),
      /** Largest WebSocket message (one JPEG frame); a larger one closes the connection with 1009. */
      maxFrameBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
      /** Largest frame (width × height, from the JPEG header, checked before decoding); larger frames are skipped and counted. */
      maxPixels: z.number().int().min(64 * 64).max(16384 * 16384).default(1920 * 1080),
      /** Frames per second a connection may push (a burst of one second's worth is allowed); faster ones are skipped and counted. */
      maxFps: z.number().positive().max(120).default(15),
      /** Push streams one client address may hold at once. */
      maxStreamsPerClient: z.number().int().min(1).max(1000).default(2),
      /** A push socket that sends no frame for this long is closed (1008) and its stream removed: an idle one holds a detector session. */
      idleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
    })
    .prefault({}),
  persistence: z
    .strictObject({
      /** A JSON file where API-added streams are kept (written atomically, mode 0600); null = off. */
      file: z.string().min(1).nullable().default(null),
    })
    .prefault({}),
  /** Recordings of streams (POST /v1/streams/{id}/recordings, docs/recordings.md): off unless a directory is set. */
  recordings: z
    .strictObject({
      /** Where recordings are kept (one directory each, 0700; files 0600); null = recordings off. */
      dir: z.string().min(1).nullable().default(null),
      /** Disk space all recordings may take, in bytes; beyond it the oldest finished ones are removed. Default 10 GiB. */
      maxBytes: z.number().int().min(1024).default(10 * 1024 ** 3),
      /** Finished recordings older than this (hours since they ended) are removed. Default 30 days. */
      maxAgeHours: z.number().positive().max(24 * 365 * 10).default(24 * 30),
    })
    .prefault({}),
  files: z
    .strictObject({
      /** Directories API-added file sources may read from (relative to the working directory). */
      roots: z.array(z.string().min(1)).min(1).default(['.']),
      /**
       * Let file sources use demuxers that open other files named inside them (HLS, DASH, concat,
       * IMF …). Off: such files are refused, since their entries could lie outside the roots.
       */
      allowNestedFormats: z.boolean().default(false),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  analysis: z
    .strictObject({
      /** Frames are scaled (by FFmpeg) to at most this width before detection. */
      maxWidth: z.number().int().min(64).max(4096).default(640),
      /** Frames waiting for detection per stream; a real-time source drops the oldest beyond it. */
      queueFrames: z.number().int().min(1).max(256).default(4),
      /** Frames analysed per second of stream time (null = every frame); windows count analysed frames. */
      analysisFps: z.number().positive().max(240).nullable().default(null),
      /**
       * Largest frame a source may declare or decode (width × height). The default, 4096×3072,
       * admits 4K UHD/DCI cameras and 12 MP stills; larger sources fail with VA_ERR_SOURCE_TOO_LARGE.
       */
      maxSourcePixels: z.number().int().min(64 * 64).max(16384 * 16384).default(4096 * 3072),
      /** Undecodable packets in a row before a source fails (each one is skipped and counted). */
      maxConsecutiveDecodeErrors: z.number().int().min(0).max(100_000).default(25),
      /**
       * Decoder threads per stream: 1 = single-threaded (the least CPU per frame; streams already
       * decode in parallel on libuv's pool, and the models have their own cores), 0 = FFmpeg's
       * choice (one per core): for one high-resolution camera that a single core cannot decode.
       */
      decodeThreads: z.number().int().min(0).max(64).default(1),
      /** Decode on a GPU (auto: the first device that opens; or cuda, vaapi, qsv); none = software. */
      hwaccel: hwaccelSchema.default('none'),
    })
    .prefault({}),
  model: z
    .strictObject({
      /** A model directory (manifest.json + weights); null = faces only, no affect events. */
      dir: z.string().min(1).nullable().default(null),
      /** New analysed frames between CNN-RNN windows per track (≤ the model's seqLen). */
      stride: z.number().int().min(1).max(256).default(8),
      smoothing: z.enum(['off', 'ema', 'one-euro']).default('off'),
      maxBatch: z.number().int().min(1).max(256).default(8),
      maxWaitMs: z.number().int().min(0).max(1000).default(15),
      /**
       * Requests (faces, windows) waiting per inference queue; beyond it the oldest is dropped
       * before any work is spent on it (counted per stream). This bounds latency under overload.
       */
      maxQueue: z.number().int().min(1).max(100_000).default(16),
      /** Frames whose affect results are being assembled per stream; beyond it the oldest is dropped. */
      queueFrames: z.number().int().min(1).max(1024).default(64),
      /** Tracks with an open window per stream. */
      maxTracks: z.number().int().min(1).max(256).default(16),
      /** Run the affect models in a worker thread, on their own core (false: on the daemon's thread). */
      worker: z.boolean().default(true),
      /**
       * Inference engine of the affect models: ONNX Runtime where it loads (auto), or forced;
       * `onnx-int8` (opt-in) quantises the CNNs to int8, calibrated on `int8Calibration`.
       */
      engine: z.enum(['auto', 'onnx', 'tfjs', 'onnx-int8']).default('auto'),
      /** Where the affect model runs: auto (a usable GPU, else the CPU), cpu, or gpu (or the daemon does not start). */
      device: z.enum(['auto', 'cpu', 'gpu']).default('auto'),
      /**
       * With engine onnx-int8: a directory of aligned face crops (PNG/JPEG, one face per image) to
       * calibrate on, ideally from the cameras watched; null = the faces of the photos shipped with
       * @vladmandic/face-api (demo/sample1-6.jpg).
       */
      int8Calibration: z.string().min(1).nullable().default(null),
      /** Intra-op threads per ONNX Runtime session (0: the cores but one, split between the model workers). */
      threads: z.number().int().min(0).max(256).default(0),
      /**
       * Model worker threads sharing the affect inference (with worker: true), each running whole
       * batches; 0 = from the core count (one per two cores, at least one).
       */
      workers: z.number().int().min(0).max(64).default(0),
    })
    .prefault({}),
  /** Per-person baselines of the affect outputs, per track (docs/events.md, "Baselines"). */
  baseline: z
    .strictObject({
      /** Affect events carry each track's baseline and the difference from it. */
      enabled: z.boolean().default(true),
      /** Stream-time span of each track's sliding window, seconds. */
      windowSeconds: z.number().positive().max(3600).default(60),
      /** Percentile of each output over the window: 50 = the median; lower = a resting low. */
      percentile: z.number().min(0).max(100).default(50),
      /** A new track reports no baseline until it has been seen this long (seconds of stream time). */
      minSeconds: z.number().min(0).max(3600).default(5),
      /** Frames held per track at most (memory: 8 bytes × 3 × outputs × this). */
      maxSamples: z.int().min(16).max(100_000).default(3600),
      /** Longest calibration POST /v1/streams/{id}/tracks/{trackId}/baseline may ask for, seconds. */
      maxCalibrationSeconds: z.number().positive().max(3600).default(120),
    })
    .prefault({}),
  detector: z
    .strictObject({
      minScore: z.number().min(0).max(1).default(0.5),
      minMeshScore: z.number().min(0).max(1).default(0.5),
      iouThreshold: z.number().min(0).max(1).default(0.3),
      maxFaces: z.number().int().min(1).max(100).default(10),
      detectEveryFrames: z.number().int().min(1).max(60).default(3),
      minFaceSize: z.number().int().min(1).max(4096).default(16),
      /** Run the face models in a worker thread, on their own core (false: on the daemon's thread). */
      worker: z.boolean().default(true),
      /**
       * Engine of the face networks (BlazeFace, FaceMesh): ONNX Runtime (their TF.js graphs converted
       * and cached) where it loads (auto), or forced. Separate from model.engine: the face models
       * run on their own thread and have their own thread budget.
       */
      engine: z.enum(['auto', 'onnx', 'tfjs']).default('auto'),
      /** Where the face models run: auto (a usable GPU, else the CPU), cpu, or gpu (or the daemon does not start). */
      device: z.enum(['auto', 'cpu', 'gpu']).default('auto'),
      /** Intra-op threads per face-model ONNX Runtime session (the detector runs one frame at a time). */
      threads: z.number().int().min(1).max(64).default(1),
    })
    .prefault({}),
  tracker: z
    .strictObject({
      iouThreshold: z.number().min(0).max(1).default(0.2),
      /** Frames a track may go unseen before it ends. */
      maxGapFrames: z.number().int().min(0).max(1000).default(10),
    })
    .prefault({}),
  rtsp: z
    .strictObject({
      transport: z.enum(['tcp', 'udp']).default('tcp'),
      /** Connect and reply timeout of FFmpeg's RTSP client. */
      timeoutMs: z.number().int().min(500).max(120_000).default(10_000),
      /** No frame for this long ⇒ reconnect (0 = off). */
      stallTimeoutMs: z.number().int().min(0).max(600_000).default(15_000),
      reconnect: z
        .strictObject({
          initialDelayMs: z.number().int().min(10).max(600_000).default(500),
          maxDelayMs: z.number().int().min(10).max(3_600_000).default(30_000),
          multiplier: z.number().min(1).max(10).default(2),
          /** Consecutive failed attempts before the stream is failed (0 = keep trying forever). */
          maxAttempts: z.number().int().min(0).max(1_000_000).default(0),
        })
        .prefault({}),
    })
    .prefault({}),
  alignment: z
    .strictObject({
      size: z.number().int().min(16).max(1024).default(112),
    })
    .prefault({}),
  /**
   * Face-quality gating: a face failing any threshold is reported (faces events' `quality.gated`,
   * va_faces_gated_total) but gets no affect analysis in that frame. Every threshold is off (null)
   * by default; a stream's `quality` overrides them key by key.
   */
  quality: qualityGateSchema.prefault({}),
  streams: z.array(streamSchema).default([]),
  /**
   * Many daemons sharing one set of cameras: `streams` are then the cluster's streams, each run by
   * exactly one live instance chosen through leases in Redis. null = this daemon runs all its streams.
   */
  cluster: z
    .strictObject({
      /** Redis that holds the leases and the member list (redis:// or rediss://). */
      redis: z.string().regex(/^rediss?:\/\//i, 'must be a redis:// or rediss:// URL'),
      /** This instance's unique name in the cluster (default: host name and port). */
      instanceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/).optional(),
      /** Key prefix, so several clusters can share one Redis. */
      prefix: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).default('affect'),
      /** A dead instance's streams move after at most leaseTtlMs + tickMs. */
      leaseTtlMs: z.number().int().min(1000).max(600_000).default(10_000),
      tickMs: z.number().int().min(100).max(120_000).default(2_000),
      /** The URL other instances and operators see for this instance's API. */
      advertiseUrl: z.string().url().optional(),
    })
    .refine((c) => c.tickMs * 5 <= c.leaseTtlMs, { message: 'tickMs must be at most leaseTtlMs / 5 (a lease is renewed several times before it can lapse)', path: ['tickMs'] })
    .nullable()
    .default(null),
  /** Brokers that receive the daemon's events (MQTT, NATS JetStream, Redis Streams). */
  sinks: sinksSchema.default([]),
  /** The model store that `daemon models pull` fills and a bare `model.dir` name resolves in. */
  models: z
    .strictObject({
      /** null = $XDG_DATA_HOME/affect-daemon/models (~/.local/share/affect-daemon/models). */
      store: z.string().min(1).nullable().default(null),
      /** A catalogue file replacing the built-in config/model-catalog.json (mirrors, tests). */
      catalog: z.string().min(1).nullable().default(null),
    })
    .prefault({}),
}).superRefine((c, ctx) => {
  // Every instance of a cluster reads the same config: a shared control topic would have each of
  // them run every command (an `add` starting the camera on all of them).
  if (c.cluster === null) return;
  c.sinks.forEach((s, i) => {
    if (s.kind !== 'redis' && s.control && !s.control.topic.includes('{instance}')) {
      ctx.addIssue({ code: 'custom', path: ['sinks', i, 'control', 'topic'], message: 'in a cluster every instance would run every command: put {instance} in the control topic' });
    }
  });
});

export type Config = z.infer<typeof configSchema>;
export type StreamConfig = z.infer<typeof streamSchema>;
export type ConfigInput = z.input<typeof configSchema>;
