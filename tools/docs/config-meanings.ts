// What each configuration key means, by key: the hand-written column of the generated tables in
// docs/configuration.md (links are relative to docs/). The generator refuses a key of the schema
// that has no entry here, and an entry for a key the schema no longer has.

export const CONFIG_MEANINGS: Readonly<Record<string, string>> = {
  'server.host': 'listen address (`--host`, `DAEMON_HOST`); one that does not resolve, or is not on this machine, is a configuration error (exit 2)',
  'server.port': 'listen port (`--port`, `DAEMON_PORT`); `0` picks a free port (the `listening` log line says which)',
  'server.maxBodyBytes': 'request body limit (413 beyond); also the largest control command a broker may send',
  'server.maxWsClients': 'further WebSocket upgrades get 503',
  'server.wsQueueMessages': "per-client backlog (≈ KiB) before that client's messages are dropped (counted)",
  'server.wsMaxBehindMs': 'a client that stays behind this long is closed with 1008, and cut off if it does not read the close frame',
  'server.wsPingMs': 'every WebSocket client is pinged this often; one that did not answer the previous ping is cut off and its slot freed (0 = off)',
  'server.shutdownTimeoutMs': "after SIGINT/SIGTERM the process exits with 1 (\"shutdown took too long\") if the daemon has not closed within this plus 500 ms",
  'server.maxStreams': 'further `POST /v1/streams` get 429',
  'server.allowedHosts':
    '`Host` names (any port) answered besides `localhost`, `127.0.0.1`, `[::1]` and a non-wildcard `server.host`; others get 403 `VA_ERR_HOST_FORBIDDEN` (DNS rebinding); `"*"` = any',
  'server.allowedOrigins':
    'web origins (`https://dash.example.com`) that may open the WebSocket and change state besides same-origin pages; others get 403 `VA_ERR_ORIGIN_FORBIDDEN`; `"*"` = any',
  'server.snapshotMaxFps': "most refreshes (and JPEG encodes, per variant) of a stream's `snapshot.jpg` per second",
  'auth.token':
    'bearer token for the API and the WebSocket (`--token`, or better `DAEMON_TOKEN`: flags show in `ps`); at least 16 visible ASCII characters: a token with a space, newline, control or non-ASCII character cannot be sent in a header and stops the start (exit 2, naming the variable or flag)',
  'auth.protectProbes': 'also require the token for `/healthz` + `/readyz`',
  'auth.protectMetrics': 'also require the token for `/metrics`',
  'ingest.enabled': 'accept push streams on the WebSocket `/v1/ingest/{id}` (the live page\'s *Analyse my camera*, or any app; see [Pushing frames](ingest.md)); off: 404',
  'ingest.maxFrameBytes': 'largest message (one JPEG frame) on `/v1/ingest/{id}`; a larger one closes the socket with 1009 before it is buffered, and the stream is removed',
  'ingest.maxPixels': 'largest pushed frame (width × height, read from the JPEG header before decoding); larger frames are skipped and counted (`too_large`)',
  'ingest.maxFps': 'frames per second one push socket may send (a token bucket holding one second\'s worth); faster ones are skipped and counted (`rate`)',
  'ingest.maxStreamsPerClient': 'push streams one client address may hold at once; further upgrades get 429 `VA_ERR_LIMIT`',
  'persistence.file': 'JSON file keeping API-added streams across restarts (written atomically, mode 0600: it holds camera URLs with credentials)',
  'files.roots': 'directories API-added file sources may read (403 otherwise); checked on the real path at every open (`--file-root DIR`, repeatable, replaces them)',
  'files.allowNestedFormats': 'let file sources use demuxers that open other files named inside them (HLS, DASH, concat, IMF …); such entries can point outside the roots',
  'log.level': 'pino level (`--log-level`, `DAEMON_LOG_LEVEL`); per-frame logs only at `trace`; errors are logged under `err` with their message once and the cause under `err.cause`',
  backend: 'TF.js backend (`--backend`, `DAEMON_BACKEND`); `auto` tries `tensorflow-gpu`, `tensorflow`, `wasm`, `cpu` in that order',
  'analysis.maxWidth': 'FFmpeg scales frames to at most this width before detection',
  'analysis.queueFrames':
    'frames waiting for analysis per stream; real-time sources drop the oldest beyond it (counted in `va_frames_dropped_total`); as-fast-as-possible files are back-pressured instead',
  'analysis.analysisFps': 'frames analysed per second of stream time (null: every frame; `--analysis-fps`); a stream may set its own `analysisFps`',
  'analysis.maxSourcePixels':
    'largest frame (width × height) a source may declare or decode: 4096×3072 admits 4K UHD/DCI cameras and 12 MP stills; larger fails with `VA_ERR_SOURCE_TOO_LARGE`',
  'analysis.maxConsecutiveDecodeErrors': 'undecodable packets in a row before a source fails; each one is skipped and counted in `va_decode_errors_total`',
  'analysis.decodeThreads':
    'decoder threads per stream: 1 is the least CPU per frame (streams already decode in parallel); 0 = one per core, for one camera too large for a core',
  'analysis.hwaccel':
    'hardware decoding (opt-in): `auto` (the first of cuda, vaapi, qsv that opens and decodes the codec), `cuda`, `vaapi`, `qsv`; unusable hardware falls back to software with a warning and `va_decode_hwaccel_fallback_total`; a stream may set its own `hwaccel` (see [Hardware decoding](cameras.md#hardware-decoding))',
  'model.dir':
    'affect model directory, or a bare name in the model store (`--model`); without one the daemon publishes faces only; a relative `model.dir` in a config file is relative to that file',
  'model.stride': "new analysed frames per track between CNN-RNN windows (≤ the model's `seqLen`; `--stride`)",
  'model.smoothing':
    '`off`, `ema` (time constant 0.25 s) or `one-euro` (min cutoff 1 Hz, β 1), per track, on probabilities and VA before thresholds and labels (`--smoothing`)',
  'model.maxBatch': 'micro-batching of CNN faces and GRU windows across tracks and streams: most requests per batch',
  'model.maxWaitMs': 'micro-batching: how long a batch waits to fill',
  'model.maxQueue': 'faces (and windows) waiting per inference queue; beyond it the oldest is dropped before any work is spent on it',
  'model.queueFrames': 'frames whose affect results are being assembled per stream',
  'model.maxTracks': 'tracks with an open window per stream (more faces wait for a free slot)',
  'model.worker': 'run the affect models in a worker thread, on their own core',
  'model.engine':
    'inference engine of the affect models: `auto` (ONNX Runtime where it loads, TF.js otherwise), `onnx`, `tfjs`, `onnx-int8` (opt-in: int8 CNNs, see [int8](engines.md#model-runtime-and-engines)); where it runs is `model.device`',
  'model.device':
    'where the affect models run: `auto` (ONNX Runtime on CUDA when its provider is installed and a session on it opens, else TF.js on tfjs-node-gpu when it reports a GPU device, else the CPU), `cpu`, `gpu` (the daemon does not start, VA_ERR_DEVICE_UNAVAILABLE, when no GPU can be used); the decision is logged, in `/readyz` and `va_model_placement_info` (see [placement](gpu.md))',
  'model.int8Calibration':
    'with `onnx-int8`: a directory of aligned face crops (PNG/JPEG, one face each) to calibrate on, ideally from your cameras; null = the faces in the six photos shipped with `@vladmandic/face-api`',
  'model.threads': 'intra-op threads per ONNX Runtime session (0 = the cores but one — that one decodes and detects — split between the model workers)',
  'model.workers': 'model worker threads sharing the affect inference, each running whole micro-batches (0 = one per two cores, at least one; needs `model.worker`)',
  'detector.minScore': 'detection threshold (BlazeFace)',
  'detector.minMeshScore': 'face-presence threshold (FaceMesh)',
  'detector.iouThreshold': 'detections overlapping an already kept one by more than this IoU are dropped (non-maximum suppression)',
  'detector.maxFaces': 'faces per frame',
  'detector.detectEveryFrames': 'full-frame BlazeFace cadence; FaceMesh follows every face on every frame in between',
  'detector.minFaceSize': 'smallest face, in pixels of the analysed image',
  'detector.worker': "run the face models in a worker thread, on their own core (false: on the daemon's thread)",
  'detector.engine': 'engine of BlazeFace and FaceMesh: `auto` (ONNX Runtime where it loads, TF.js otherwise), `onnx`, `tfjs`',
  'detector.device': 'where BlazeFace and FaceMesh run: `auto`, `cpu`, `gpu`, decided as `model.device` is',
  'detector.threads': 'intra-op threads per face-model ONNX Runtime session',
  'tracker.iouThreshold': 'matching threshold',
  'tracker.maxGapFrames': 'frames a track may go unseen',
  'rtsp.transport': '`tcp` or `udp`; a stream may set its own `transport`',
  'rtsp.timeoutMs': "FFmpeg's connect and reply timeout",
  'rtsp.stallTimeoutMs': 'no frame for this long ⇒ reconnect (0 = off)',
  'rtsp.reconnect.initialDelayMs': 'exponential backoff with full jitter: delay = random · min(max, initial · multiplier^(attempt−1)); this is `initial`',
  'rtsp.reconnect.maxDelayMs': 'the backoff’s `max`',
  'rtsp.reconnect.multiplier': 'the backoff’s `multiplier`',
  'rtsp.reconnect.maxAttempts': 'consecutive failed attempts before the stream is `failed` with the last error (0 = forever)',
  'alignment.size': 'aligned crop side',
  streams: 'streams started at boot (in a cluster: the cluster\'s streams); each entry\'s keys are [below](#stream-entries)',
  cluster:
    'share the streams with other daemons through leases in Redis (see [Many daemons sharing cameras](brokers-and-cluster.md#many-daemons-sharing-cameras)); null = this daemon runs all its streams',
  'cluster.redis': 'the Redis that holds the leases and the member list (`redis://` or `rediss://`)',
  'cluster.instanceId': "this instance's unique name in the cluster (default: host name and port); a second live process with the same id is refused (`VA_ERR_CONFLICT`)",
  'cluster.prefix': 'key prefix, so several clusters can share one Redis',
  'cluster.leaseTtlMs': "a dead instance's streams move after at most `leaseTtlMs` + `tickMs`",
  'cluster.tickMs': 'how often an instance renews its leases and recomputes the owners (one round trip to Redis); at most `leaseTtlMs` / 5',
  'cluster.advertiseUrl': "the URL other instances and operators see for this instance's API (shown in `GET /v1/cluster`)",
  sinks: 'brokers that receive the events (MQTT, NATS JetStream, Redis Streams); each entry\'s keys are [below](#sink-entries) — see [Brokers and many daemons](brokers-and-cluster.md)',
  'models.store':
    'the model store a bare `model.dir` name resolves in and `daemon models` fills (null: `$XDG_DATA_HOME/affect-daemon/models`; see [`daemon models`](models.md#daemon-models-the-seeds-released-models-in-one-command))',
  'models.catalog': 'a catalogue replacing the built-in `config/model-catalog.json` (mirrors, tests)',
};

export const STREAM_MEANINGS: Readonly<Record<string, string>> = {
  id: 'stream id, `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`; unique (duplicates are a configuration error)',
  url: '`file://` or a path, `rtsp://` / `rtsps://`, or `demo:` (`push:{id}` streams are made by `/v1/ingest/{id}` only)',
  realtime: 'pace file sources at their frame rate, as a camera would; false = as fast as analysis allows',
  loop: 'start a file again when it ends',
  analysisFps: "frames analysed per second of stream time for this stream (overrides `analysis.analysisFps`)",
  transport: 'RTSP transport for this stream (overrides `rtsp.transport`)',
  hwaccel: 'hardware decoding for this stream (overrides `analysis.hwaccel`)',
  privacy: "what may leave the daemon of this stream's frames (see `privacy.snapshots`)",
  'privacy.snapshots':
    "what this stream's `snapshot.jpg` may show: `raw` (`?blur=1` pixelates the faces), `blurred` only, or `off` (no frame kept; 403 `VA_ERR_SNAPSHOT_FORBIDDEN`); default `raw`, `off` for push streams unless their client asks",
};

export const SINK_MEANINGS: Readonly<Record<string, string>> = {
  kind: 'the broker: `mqtt` (mqtt.js), `nats` (nats.js with JetStream), `redis` (ioredis, Redis Streams)',
  name: 'names the sink in metrics (`sink` label) and logs',
  url: "the broker's URL; its user info and query are redacted in logs, `/readyz` and errors",
  topic:
    'topic / subject / stream key template with `{stream}` and `{type}`; default `affect/{stream}/{type}` (MQTT), `affect.{stream}.{type}` (NATS), `affect:{stream}` (Redis)',
  types: 'event types to publish (default: all)',
  streams: 'stream ids to publish (default: all)',
  bufferMessages: 'events kept while the broker is slow or away; beyond it the oldest are dropped (`va_sink_dropped_total`)',
  maxInFlight: 'unacknowledged publishes at once',
  ackTimeoutMs: 'a publish not acknowledged within this counts as lost, and the connection is re-made',
  connectTimeoutMs: 'bound on the whole connection handshake: a server that accepts and never answers counts as down',
  flushTimeoutMs: 'at shutdown the sink keeps delivering this long and counts what is left',
  'reconnect.initialDelayMs': 'reconnection backoff (exponential, full jitter): first delay',
  'reconnect.maxDelayMs': 'reconnection backoff: largest delay',
  qos: '1 = at-least-once (PUBACK), 2 = exactly-once handshake, 0 = fire and forget',
  protocolVersion: '4 = MQTT 3.1.1, 5 = MQTT 5',
  clientId: 'MQTT client id',
  control: 'stream control through the broker ([Stream control through a broker](brokers-and-cluster.md#event-sinks)); absent = off',
  'control.topic':
    "stream control commands (add/remove/restart/list) on this topic; `{instance}` becomes this instance's cluster id, and a cluster requires it in the topic",
  username: 'broker user name (or in the URL)',
  password: 'broker password (or in the URL)',
  tls: 'TLS to the broker, with PEM files',
  'tls.ca': 'PEM file of the certificate authority',
  'tls.cert': 'PEM file of the client certificate',
  'tls.key': 'PEM file of the client key',
  'tls.rejectUnauthorized': 'verify the broker’s certificate',
  user: 'NATS user',
  pass: 'NATS password',
  token: 'NATS token',
  jetstream: 'JetStream storage for at-least-once delivery (the stream is created if absent); null = core NATS (at-most-once)',
  'jetstream.stream': 'the JetStream stream',
  'jetstream.subjects': 'subjects the stream captures (default: the topic template with its placeholders as `*`)',
  'jetstream.storage': 'JetStream storage',
  'jetstream.maxAgeMs': 'how long the stream keeps a message',
  maxLen: "approximate cap on each Redis stream's length (`XADD … MAXLEN ~`)",
};
