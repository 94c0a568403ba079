import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { filter, lastValueFrom, tap } from 'rxjs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { asStreamId } from '../../core/ids.js';
import type { AlignedFace } from '../../core/records.js';
import { selectBackend, tensorCount, type BackendPreference } from '../../models/backend.js';
import { computeAlignment, cropAlignedFaces } from '../../models/face-aligner/index.js';
import type { EngineName } from '../../models/ensemble/member-runner.js';
import { DEFAULT_DETECTOR_OPTIONS, FaceDetector } from '../../models/face-detector/index.js';
import { decidePlacement } from '../../models/placement/decide-placement.js';
import { sessionProviders, type DevicePreference, type Placement } from '../../models/placement/placement.js';
import { probeHost } from '../../models/placement/probe-host.js';

import { FaceTracker } from '../../pipeline/face-tracker.js';
import { runStream } from '../../pipeline/run-stream.js';
import { testMediaDir } from '../../paths.js';
import { openSource, quietFfmpeg, writeDemoClip } from '../../streams/open-source.js';

export interface FacesBenchResult {
  /** The face networks' engine (BlazeFace, FaceMesh). */
  readonly engine: string;
  /** Where they ran: the ONNX Runtime execution provider or TF.js backend, and the device. */
  readonly provider: string;
  readonly device: 'cpu' | 'gpu';
  readonly clip: string;
  readonly detectEveryFrames: number;
  /** Frames/s of the daemon's real per-stream pipeline (decode overlaps analysis), as fast as it goes. */
  readonly pipelineFps: number;
  readonly frames: number;
  readonly seconds: number;
  readonly fps: number;
  readonly facesPerFrame: number;
  readonly msPerFrame: Record<'decode' | 'detect' | 'align' | 'track', number>;
  readonly share: Record<'decode' | 'detect' | 'align' | 'track', number>;
  /** ms per BlazeFace run (full frame), per FaceMesh crop, and the faces stage (detect + align + track) per frame. */
  readonly networks: { readonly detectorMsPerRun: number; readonly meshMsPerCrop: number; readonly facesStageMsPerFrame: number };
}

/** The daemon's own per-stream run (runStream: source → detect → align → track → events) on a file, unpaced. */
async function pipelineFps(detector: FaceDetector, file: string, detectEveryFrames: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  const run$ = runStream(
    { kind: 'file', path: file },
    {
      streamId: asStreamId('bench'),
      realtime: false,
      loop: false,
      maxWidth: 640,
      queueFrames: 4,
      alignSize: 112,
      tracker: { iouThreshold: 0.2, maxGapFrames: 10 },
      detector: { detectEveryFrames },
    },
    { detector },
  );
  await lastValueFrom(run$.pipe(filter((r) => r.kind === 'event' && r.event.type === 'faces'), tap(() => n++)), { defaultValue: undefined });
  return Math.round((n / ((performance.now() - t0) / 1000)) * 10) / 10;
}

/** The same work as a stream's pipeline, stage by stage and sequentially, to show where time goes. */
export async function benchClip(detector: FaceDetector, file: string, detectEveryFrames: number, placement: Pick<Placement, 'provider' | 'device'> = { provider: 'cpu', device: 'cpu' }): Promise<FacesBenchResult> {
  const session = detector.createSession({ detectEveryFrames });
  const tracker = new FaceTracker({ iouThreshold: 0.2, maxGapFrames: 10 });
  const t = { decode: 0, detect: 0, align: 0, track: 0 };
  let frames = 0;
  let faces = 0;
  const start = performance.now();
  let t0 = performance.now();
  for await (const raw of openSource({ kind: 'file', path: file }, { realtime: false, loop: false, maxWidth: 640 })) {
    const t1 = performance.now();
    t.decode += t1 - t0;
    const det = await session.detect({ data: raw.data, width: raw.width, height: raw.height });
    const t2 = performance.now();
    const sx = raw.sourceWidth / raw.width;
    const sy = raw.sourceHeight / raw.height;
    const aligned: AlignedFace[] = det.faces.map((f) => {
      const landmarks = f.landmarks.map(([x, y]) => [x * sx, y * sy] as const) as unknown as AlignedFace['landmarks'];
      return { box: f.box, score: f.score, landmarks, alignment: computeAlignment(landmarks, 112) };
    });
    // The crops the affect models consume: cut here so their cost is part of the figure.
    const crops = cropAlignedFaces(raw, aligned.map((a) => a.alignment), 1 / sx);
    await crops.data();
    crops.dispose();
    const t3 = performance.now();
    tracker.update(frames, aligned);
    const t4 = performance.now();
    t.detect += t2 - t1;
    t.align += t3 - t2;
    t.track += t4 - t3;
    frames++;
    faces += det.faces.length;
    t0 = performance.now();
  }
  const seconds = (performance.now() - start) / 1000;
  const total = t.decode + t.detect + t.align + t.track;
  const per = (v: number): number => Math.round((v / frames) * 100) / 100;
  const share = (v: number): number => Math.round((v / total) * 1000) / 10;
  const r2 = (v: number): number => Math.round(v * 100) / 100;
  const tm = session.timing;
  return {
    engine: detector.engines.detector === detector.engines.mesh ? detector.engines.detector : `${detector.engines.detector}+${detector.engines.mesh}`,
    provider: placement.provider,
    device: placement.device,
    clip: path.basename(file),
    detectEveryFrames,
    pipelineFps: await pipelineFps(detector, file, detectEveryFrames),
    frames,
    seconds: Math.round(seconds * 100) / 100,
    fps: Math.round((frames / seconds) * 10) / 10,
    facesPerFrame: Math.round((faces / frames) * 100) / 100,
    msPerFrame: { decode: per(t.decode), detect: per(t.detect), align: per(t.align), track: per(t.track) },
    share: { decode: share(t.decode), detect: share(t.detect), align: share(t.align), track: share(t.track) },
    networks: {
      detectorMsPerRun: r2(tm.detectorMs / Math.max(1, tm.detectorRuns)),
      meshMsPerCrop: r2(tm.meshMs / Math.max(1, tm.meshCrops)),
      facesStageMsPerFrame: per(t.detect + t.align + t.track),
    },
  };
}

export interface FacesBenchOptions {
  readonly backend: string;
  readonly json: boolean;
  readonly input?: string;
  /** Face-network engines run side by side, each clip on each engine back to back (default tfjs and onnx). */
  readonly engines?: readonly EngineName[];
  /** Intra-op threads of each ONNX Runtime session. */
  readonly threads?: number;
  /** Where the face networks run, decided per engine as the daemon decides `detector.device` (default auto). */
  readonly device?: DevicePreference;
}

/** An engine that cannot run on the requested device: reported, not benchmarked. */
export interface FacesBenchUnavailable {
  readonly engine: EngineName;
  readonly device: DevicePreference;
  readonly available: false;
  readonly reason: string;
}

function ratioLine(a: FacesBenchResult, b: FacesBenchResult): string {
  const q = (x: number, y: number): string => (y > 0 ? (x / y).toFixed(2) : '-');
  return (
    `  ${a.engine}/${b.engine} time ratio: BlazeFace ${q(a.networks.detectorMsPerRun, b.networks.detectorMsPerRun)}×  FaceMesh ${q(a.networks.meshMsPerCrop, b.networks.meshMsPerCrop)}×  ` +
    `detect ${q(a.msPerFrame.detect, b.msPerFrame.detect)}×  faces stage ${q(a.networks.facesStageMsPerFrame, b.networks.facesStageMsPerFrame)}×  pipeline frames/s ${q(b.pipelineFps, a.pipelineFps)}×`
  );
}

export async function benchFaces(opts: FacesBenchOptions): Promise<void> {
  quietFfmpeg();
  const backend = await selectBackend(opts.backend as BackendPreference);
  const engines = opts.engines ?? ['tfjs', 'onnx'];
  const device = opts.device ?? 'auto';
  const threads = opts.threads ?? 1;
  const caps = await probeHost(backend);
  const detectors: { readonly detector: FaceDetector; readonly placement: Placement }[] = [];
  const unavailable: FacesBenchUnavailable[] = [];
  const tmp = mkdtempSync(path.join(tmpdir(), 'va-bench-'));
  const results: FacesBenchResult[] = [];
  try {
    for (const engine of engines) {
      let placement: Placement;
      try {
        placement = decidePlacement({ model: `face models (${engine})`, engine, device, threads }, caps);
      } catch (err) {
        // The daemon refuses to start here (VA_ERR_DEVICE_UNAVAILABLE); a bench reports the row and goes on.
        unavailable.push({ engine, device, available: false, reason: (err as Error).message });
        if (!opts.json) console.log(`${engine.padEnd(5)} unavailable on device ${device}: ${(err as Error).message}`);
        continue;
      }
      const d = await FaceDetector.load({ engine, threads, providers: sessionProviders(placement) });
      detectors.push({ detector: d, placement });
      await d.warmUp();
    }
    const utterance = opts.input ?? path.join(testMediaDir, 'utterance_1.mp4');
    const clip720 = path.join(tmp, 'demo-1280x720-30fps.mp4');
    if (detectors.length > 0) await writeDemoClip(clip720, { width: 1280, height: 720, fps: 30, seconds: 10 });
    const clips = detectors.length === 0 ? [] : existsSync(utterance) ? [utterance, clip720] : [clip720];
    for (const every of [DEFAULT_DETECTOR_OPTIONS.detectEveryFrames, 1]) {
      for (const clip of clips) {
        const row: FacesBenchResult[] = [];
        for (const { detector, placement } of detectors) {
          const r = await benchClip(detector, clip, every, placement);
          results.push(r);
          row.push(r);
          if (!opts.json) {
            console.log(
              `${r.engine.padEnd(5)} on ${`${r.provider}/${r.device}`.padEnd(10)} ${r.clip.padEnd(28)} detectEvery=${every} ${String(r.frames).padStart(4)} frames  pipeline ${r.pipelineFps.toFixed(1).padStart(5)} frames/s  sequential ${r.fps.toFixed(1).padStart(5)} frames/s ` +
                `faces/frame ${r.facesPerFrame}  ms/frame decode ${r.msPerFrame.decode} detect ${r.msPerFrame.detect} align ${r.msPerFrame.align} track ${r.msPerFrame.track} faces stage ${r.networks.facesStageMsPerFrame}  ` +
                `ms BlazeFace/run ${r.networks.detectorMsPerRun} FaceMesh/crop ${r.networks.meshMsPerCrop}  ` +
                `share % decode ${r.share.decode} detect ${r.share.detect} align ${r.share.align} track ${r.share.track}`,
            );
          }
        }
        if (!opts.json) for (const other of row.slice(1)) console.log(ratioLine(row[0]!, other));
      }
    }
  } finally {
    for (const { detector } of detectors) detector.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  const summary = { backend: backend.name, engines, device, threads, tensors: tensorCount(), streamId: asStreamId('bench'), results, unavailable };
  if (opts.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(`backend ${backend.name}, face engines ${engines.join(' vs ')}, device ${device}, ONNX Runtime threads ${threads}`);
  // As bench model: a bench in which no engine could run fails, after printing why.
  if (detectors.length === 0) process.exitCode = 1;
}
