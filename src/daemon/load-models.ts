import type { Config } from '../config/schema.js';
import { ErrorCodes, ModelLoadError } from '../core/errors.js';
import { QueuedAffectModel } from '../models/affect/queued-affect-model.js';
import { selectBackend, type BackendInfo } from '../models/backend.js';
import { HostedFaceDetector, type FaceDetectorHost } from '../models/face-detector/face-detector-host.js';
import type { Int8Calibration } from '../models/onnx/int8-calibration.js';
import type { HostCapabilities, Placement } from '../models/placement/placement.js';
import { probeHost } from '../models/placement/probe-host.js';
import type { HostHealth } from '../models/runtime/model-host.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { loadCalibrationFaces } from '../pipeline/int8-calibration-faces.js';

/** What the daemon runs its streams with: the face models always, the affect model if configured. */
export interface DaemonModels {
  /** The TF.js backend in use (a metrics label and a readiness detail). */
  readonly backend: string;
  readonly detector: FaceDetectorHost;
  readonly affectModel?: QueuedAffectModel;
  /** Where each model runs, decided once at load. */
  readonly placements: { readonly 'face-detector': Placement; readonly affect?: Placement };
}

export interface ModelDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly onHostState: (h: HostHealth) => void;
}

/** Says where a model runs, once: in the log and as `va_model_placement_info`. */
function showPlacement(model: 'face-detector' | 'affect', p: Placement, { log, metrics }: ModelDeps): void {
  metrics.modelPlacementInfo.set({ model, engine: p.engine, provider: p.provider, device: p.device }, 1);
  log.info({ model, engine: p.engine, provider: p.provider, device: p.device, deviceName: p.deviceName, threads: p.threads, reasons: p.reasons }, 'model placement');
}

/** Picks the TF.js backend and says how, once: tried-and-absent backends are the usual case. */
async function chooseBackend(config: Config, { log, metrics }: ModelDeps): Promise<BackendInfo> {
  const info = await selectBackend(config.backend);
  metrics.backendInfo.set({ backend: info.name }, 1);
  // Optional backends that are not installed are the usual case: said once, at debug; one
  // that is installed and fails to start is worth a warning.
  const notInstalled = info.tried.filter((t) => t.notInstalled);
  if (notInstalled.length > 0) log.debug({ notInstalled: notInstalled.map((t) => t.name), reasons: notInstalled.map((t) => t.error) }, 'optional TF.js backends not installed');
  for (const t of info.tried) if (!t.notInstalled) log.warn({ backend: t.name, reason: t.error }, 'TF.js backend failed to start, trying the next');
  log.info({ backend: info.name, requested: config.backend }, 'TF.js backend selected');
  return info;
}

async function openFaceModels(config: Config, capabilities: HostCapabilities, deps: ModelDeps): Promise<HostedFaceDetector> {
  const { log, metrics, onHostState } = deps;
  let hosted: HostedFaceDetector;
  try {
    hosted = await HostedFaceDetector.open({
      worker: config.detector.worker,
      backend: config.backend,
      engine: config.detector.engine,
      threads: config.detector.threads,
      device: config.detector.device,
      capabilities,
      onHostState,
    });
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `face models failed to load: ${(err as Error).message}`, { cause: err });
  }
  metrics.modelHostUp.set({ host: 'face-detector' }, 1);
  log.info({ worker: config.detector.worker, engines: hosted.engines }, 'face models loaded (BlazeFace + FaceMesh from @vladmandic/human)');
  showPlacement('face-detector', hosted.placement, deps);
  return hosted;
}

/** The affect model of `model.dir`, warmed up; the caller owns it from the moment it resolves. */
async function openAffectModel(config: Config, dir: string, backend: string, capabilities: HostCapabilities, deps: ModelDeps): Promise<QueuedAffectModel> {
  const { log, metrics, onHostState } = deps;
  let calibration: Int8Calibration | undefined;
  if (config.model.engine === 'onnx-int8') {
    calibration = await loadCalibrationFaces({ dir: config.model.int8Calibration, alignSize: config.alignment.size });
    log.info({ calibration: calibration.name }, 'int8 calibration faces loaded (the quantised graphs are cached per set)');
  }
  let id = '';
  const engine = await QueuedAffectModel.load(dir, { ...config.model, backend: config.backend, capabilities, ...(calibration !== undefined ? { calibration } : {}) }, {
    onBatch: (stage, size, seconds) => {
      const l = { model: id, backend, stage };
      metrics.inferenceBatchSize.observe(l, size);
      metrics.inferenceDuration.observe(l, seconds);
    },
    onQueueDepth: (stage, depth) => metrics.inferenceQueueDepth.set({ stage }, depth),
    onHostState,
  });
  id = engine.id;
  metrics.modelHostUp.set({ host: 'affect' }, 1);
  try {
    await engine.warmUp();
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw err;
  }
  log.info(
    { model: engine.id, modelVersion: engine.version, kind: engine.kind, seqLen: engine.seqLen, members: engine.runtime.members.length, worker: config.model.worker, workers: engine.workers, runtime: engine.runtime, provenance: engine.manifest.provenance },
    'affect model loaded',
  );
  showPlacement('affect', engine.placement, deps);
  const fallback = engine.runtime.fallback;
  if (fallback !== undefined) log.warn({ engine: engine.runtime.engine, reason: fallback }, 'ONNX Runtime unavailable for the affect model: running it on TF.js');
  return engine;
}

/**
 * Loads what the daemon's streams run on. A model that fails to load throws (ModelLoadError and
 * friends: the daemon does not start); what was already loaded is closed first.
 */
export async function loadModels(config: Config, deps: ModelDeps): Promise<DaemonModels> {
  const info = await chooseBackend(config, deps);
  const backend = info.name;
  // Probed once for every model: the placements are decided on the same picture of the host.
  const capabilities = await probeHost(info);
  const detector = await openFaceModels(config, capabilities, deps);
  if (config.model.dir === null) {
    deps.log.info('no affect model configured (model.dir / --model): publishing faces only');
    return { backend, detector, placements: { 'face-detector': detector.placement } };
  }
  try {
    const affectModel = await openAffectModel(config, config.model.dir, backend, capabilities, deps);
    return { backend, detector, affectModel, placements: { 'face-detector': detector.placement, affect: affectModel.placement } };
  } catch (err) {
    await detector.close().catch(() => undefined);
    throw err;
  }
}

/** Releases the models (affect first: it may hold workers fed by the detector's faces). */
export async function closeModels(models: DaemonModels | undefined): Promise<void> {
  await models?.affectModel?.close();
  await models?.detector.close();
}
