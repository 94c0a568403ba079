import { tf, type Tensor3D } from '../tf.js';
import { BlazeFace } from './blazeface.js';
import type { FaceGraph, FaceGraphOptions } from './face-graph.js';
import { FaceMesh, type MeshCrop } from './face-mesh.js';
import { DEFAULT_DETECTOR_OPTIONS, MESH_CROP_SCALE, type FaceDetectorOptions } from './constants.js';
import { clipBox, iou, nonMaxSuppression, squareAround } from './geometry.js';
import type { Box, DetectedFace, RgbImage } from './types.js';

export type { Box, DetectedFace, FiveLandmarks, Point, RgbImage } from './types.js';
export { DEFAULT_DETECTOR_OPTIONS, type FaceDetectorOptions } from './constants.js';
export { iou, boxCenter } from './geometry.js';
export type { FaceGraphOptions } from './face-graph.js';

/** The engine each face model ended up on (`auto` falls back per model). */
export interface FaceEngines {
  readonly detector: FaceGraph['engine'];
  readonly mesh: FaceGraph['engine'];
}

export interface DetectionResult {
  readonly faces: readonly DetectedFace[];
  /** Whether the full-frame detector ran on this frame (otherwise faces were followed by the mesh). */
  readonly ranDetector: boolean;
}

/**
 * BlazeFace + FaceMesh, the MediaPipe face pipeline: the detector finds faces every
 * `detectEveryFrames` frames, and the mesh both refines each face (five landmarks, tight box,
 * presence score) and follows it on the frames in between. The models are shared; per-stream
 * state lives in a {@link FaceDetectorSession}.
 */
export class FaceDetector {
  private closed = false;

  private constructor(
    readonly blazeface: BlazeFace,
    readonly mesh: FaceMesh,
  ) {}

  /**
   * `engine` defaults to `auto` (ONNX Runtime where it loads), as `detector.engine` does, so
   * `daemon predict`, `align` and the benchmarks find the same faces as the live daemon.
   */
  static async load(opts: Partial<FaceGraphOptions> = {}): Promise<FaceDetector> {
    const o: FaceGraphOptions = { engine: opts.engine ?? 'auto', threads: opts.threads ?? 1, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}), ...(opts.cache !== undefined ? { cache: opts.cache } : {}), ...(opts.providers !== undefined ? { providers: opts.providers } : {}) };
    const blazeface = await BlazeFace.load(o);
    try {
      return new FaceDetector(blazeface, await FaceMesh.load(o));
    } catch (err) {
      blazeface.dispose();
      throw err;
    }
  }

  get engines(): FaceEngines {
    return { detector: this.blazeface.engine, mesh: this.mesh.engine };
  }

  /** Runs both models once so the first real frame does not pay for kernel compilation. */
  async warmUp(): Promise<void> {
    const session = this.createSession();
    await session.detect({ data: new Uint8Array(64 * 64 * 3), width: 64, height: 64 });
  }

  createSession(options: Partial<FaceDetectorOptions> = {}): FaceDetectorSession {
    if (this.closed) throw new Error('FaceDetector is closed');
    return new FaceDetectorSession(this, { ...DEFAULT_DETECTOR_OPTIONS, ...options });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.blazeface.dispose();
    this.mesh.dispose();
  }
}

/** Time spent in each network by one session (benchmarks read it; wall clock, milliseconds). */
export interface FaceTiming {
  detectorMs: number;
  detectorRuns: number;
  meshMs: number;
  meshCrops: number;
}

/** A new face tilted by more than this (degrees) is meshed a second time, turned upright. */
const RECROP_ROLL_DEG = 5;

export class FaceDetectorSession {
  private frames = 0;
  private followed: MeshCrop[] = [];
  readonly timing: FaceTiming = { detectorMs: 0, detectorRuns: 0, meshMs: 0, meshCrops: 0 };

  constructor(
    private readonly detector: FaceDetector,
    readonly options: FaceDetectorOptions,
  ) {}

  async detect(img: RgbImage): Promise<DetectionResult> {
    if (img.data.length !== img.width * img.height * 3) {
      throw new RangeError(`RGB image of ${img.width}×${img.height} needs ${img.width * img.height * 3} bytes, got ${img.data.length}`);
    }
    const o = this.options;
    // A fixed detector cadence bounds the cost of empty scenes too; new faces wait at most
    // detectEveryFrames-1 frames, and followed faces are re-checked by the mesh every frame.
    const runDetector = this.frames % o.detectEveryFrames === 0;
    this.frames++;
    const image = tf.tidy(() => tf.cast(tf.tensor3d(img.data, [img.height, img.width, 3], 'int32'), 'float32')) as Tensor3D;
    try {
      let crops = this.followed;
      if (runDetector) {
        const t0 = performance.now();
        const found = await this.detector.blazeface.detect(image, o.minScore);
        this.timing.detectorMs += performance.now() - t0;
        this.timing.detectorRuns++;
        const kept = nonMaxSuppression(found, o.iouThreshold, o.maxFaces);
        // Prefer the followed (mesh-derived, better centred) crop for a face the detector re-finds.
        crops = kept.map((c) => {
          const square = squareAround(c.box, MESH_CROP_SCALE);
          const prev = this.followed.find((f) => iou(f.box, square) > 0.5);
          return prev ?? { box: square, angle: 0 };
        });
      }
      const t1 = performance.now();
      const meshes = await this.detector.mesh.run(image, crops, img);
      // A new face is first meshed upright (as the detector found it); tilted, it is meshed again
      // turned by that first estimate, which the upright mesh underestimates (it sees too little
      // tilt). Followed faces come turned by the last frame's roll already.
      let extra = 0;
      for (let i = 0; i < meshes.length; i++) {
        const m = meshes[i]!;
        const crop = crops[i]!;
        if (crop.angle !== 0 || m.score < o.minMeshScore || Math.abs(m.measures.pose.roll) < RECROP_ROLL_DEG) continue;
        const [again] = await this.detector.mesh.run(image, [{ box: crop.box, angle: m.next.angle }], img);
        extra++;
        if (again && again.score >= o.minMeshScore) meshes[i] = again;
      }
      this.timing.meshMs += performance.now() - t1;
      this.timing.meshCrops += crops.length + extra;
      const faces: DetectedFace[] = [];
      const next: MeshCrop[] = [];
      for (const m of meshes) {
        if (m.score < o.minMeshScore) continue;
        const box = clipBox(m.box, img.width, img.height);
        if (Math.max(box[2], box[3]) < o.minFaceSize) continue;
        const crop = m.next;
        // Two crops that converged on the same face: keep the first.
        if (next.some((b) => iou(b.box, crop.box) > 0.6)) continue;
        next.push(crop);
        faces.push({ box, score: m.score, landmarks: m.landmarks, mesh: m.measures });
      }
      this.followed = next;
      return { faces, ranDetector: runDetector };
    } finally {
      image.dispose();
    }
  }

  reset(): void {
    this.followed = [];
    this.frames = 0;
  }
}
