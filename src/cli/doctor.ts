/**
 * `daemon doctor`: what this host offers and what the daemon would use, with the reasons. Run
 * first when something is slow: Node, node-av/FFmpeg and its hardware decoders, the TF.js
 * backends that load, ONNX Runtime and its execution providers, GPU visibility, the placement
 * each configured model would get, and the ports and file roots of the config.
 */
import type { Config } from '../config/schema.js';
import { asAnalyticsError } from '../core/errors.js';
import { defaultModelWorkers, modelEngines, sessionThreads } from '../models/affect/open-affect-model.js';
import { selectBackend, type BackendName } from '../models/backend.js';
import { decidePlacement } from '../models/placement/decide-placement.js';
import type { GpuVisibility, OrtCapabilities, Placement } from '../models/placement/placement.js';
import { probeHost } from '../models/placement/probe-host.js';
import { ffmpegCapabilities, type FfmpegCapabilities } from '../streams/ffmpeg-capabilities.js';

export type PlacementOrError = Placement | { readonly error: { readonly code: string; readonly message: string } };

export interface DoctorReport {
  readonly node: string;
  readonly platform: string;
  readonly cpu: { readonly name: string; readonly cores: number };
  readonly ffmpeg: FfmpegCapabilities;
  readonly tfjs: {
    readonly backends: readonly { readonly name: BackendName; readonly loads: boolean; readonly reason?: string }[];
    /** The backend `backend:` in the config selects, and whether it reports a GPU device. */
    readonly selected: string;
    readonly gpuDevice: boolean;
  };
  readonly onnxRuntime: OrtCapabilities;
  readonly gpus: GpuVisibility;
  readonly placements: { readonly 'face-detector': PlacementOrError; readonly affect: PlacementOrError | 'none configured' };
  readonly config: {
    readonly file: string;
    readonly listen: { readonly host: string; readonly port: number };
    readonly fileRoots: readonly string[];
    readonly modelDir: string | null;
    readonly stateFile: string | null;
  };
}

const BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

function attempt(f: () => Placement): PlacementOrError {
  try {
    return f();
  } catch (err) {
    const e = asAnalyticsError(err);
    return { error: { code: e.code, message: e.message } };
  }
}

export async function doctor(config: Config, configFile: string): Promise<DoctorReport> {
  // First the backend the daemon's config selects (with what it tried), which the placements are decided on.
  const info = await selectBackend(config.backend);
  const caps = await probeHost(info);
  const backends: { name: BackendName; loads: boolean; reason?: string }[] = [];
  for (const name of BACKENDS) {
    try {
      await selectBackend(name);
      backends.push({ name, loads: true });
    } catch (err) {
      backends.push({ name, loads: false, reason: (err as Error).message });
    }
  }
  const face = attempt(() => decidePlacement({ model: 'face models', engine: config.detector.engine, device: config.detector.device, threads: config.detector.threads }, caps));
  const dir = config.model.dir;
  const workers = config.model.worker ? (config.model.workers > 0 ? config.model.workers : defaultModelWorkers()) : 1;
  const engines = dir === null ? [] : await modelEngines(dir);
  const affect =
    dir === null
      ? ('none configured' as const)
      : attempt(() => decidePlacement({ model: 'affect model', engine: config.model.engine, device: config.model.device, threads: sessionThreads(config.model.threads, workers), engines }, caps));
  return {
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpu: caps.cpu,
    ffmpeg: ffmpegCapabilities(),
    tfjs: { backends, selected: caps.tfjs.backend, gpuDevice: caps.tfjs.gpuDevice },
    onnxRuntime: caps.ort,
    gpus: caps.gpus,
    placements: { 'face-detector': face, affect },
    config: { file: configFile, listen: { host: config.server.host, port: config.server.port }, fileRoots: config.files.roots, modelDir: dir, stateFile: config.persistence.file },
  };
}

function placementText(p: PlacementOrError | 'none configured'): string[] {
  if (p === 'none configured') return ['none configured (model.dir / --model)'];
  if ('error' in p) return [`cannot be placed: [${p.error.code}] ${p.error.message}`];
  return [`${p.engine} on ${p.provider} (${p.device}${p.deviceName !== undefined ? `: ${p.deviceName}` : ''})${p.engine === 'tfjs' ? '' : `, ${p.threads} thread(s) per session`}`, ...p.reasons.map((r) => `  because ${r}`)];
}

/** The report as a person reads it. */
export function doctorText(r: DoctorReport): string {
  const ort = r.onnxRuntime;
  const lines = [
    `Node.js        ${r.node} (${r.platform}), CPU ${r.cpu.name || 'unknown'} × ${r.cpu.cores}`,
    `node-av        ${r.ffmpeg.nodeAv ?? 'unknown'}, FFmpeg ${r.ffmpeg.ffmpeg}`,
    `  hw devices   ${r.ffmpeg.hwDeviceTypes.join(', ') || 'none'} (built in; analysis.hwaccel opens them)`,
    `  hw decoders  ${r.ffmpeg.hwDecoders.join(' ') || 'none'}`,
    `TF.js          selected ${r.tfjs.selected}${r.tfjs.gpuDevice ? ' (GPU device)' : ''}`,
    ...r.tfjs.backends.map((b) => `  ${b.name.padEnd(15)}${b.loads ? 'loads' : `unavailable: ${b.reason ?? ''}`}`),
    `ONNX Runtime   ${ort.available ? (ort.version ?? 'unknown version') : `unavailable: ${ort.error ?? ''}`}`,
    `  providers    ${ort.providers.map((p) => `${p.name}${p.bundled ? '' : ' (downloaded at install)'}`).join(', ') || 'none'}`,
    `  CUDA         library ${ort.cuda.library ?? 'not installed'}; session ${ort.cuda.session}${ort.cuda.error !== undefined ? `: ${ort.cuda.error}` : ''}`,
    `GPUs           ${r.gpus.visible ? r.gpus.names.join(', ') : 'none visible'} (${r.gpus.source})`,
    'Placement',
    ...placementText(r.placements['face-detector']).map((l, i) => (i === 0 ? `  face models  ${l}` : `               ${l}`)),
    ...placementText(r.placements.affect).map((l, i) => (i === 0 ? `  affect model ${l}` : `               ${l}`)),
    `Config         ${r.config.file}`,
    `  listen       ${r.config.listen.host}:${r.config.listen.port}`,
    `  file roots   ${r.config.fileRoots.join(', ') || 'none'}`,
    `  model dir    ${r.config.modelDir ?? 'none'}`,
    `  state file   ${r.config.stateFile ?? 'none'}`,
  ];
  return lines.join('\n') + '\n';
}
