import type { EngineName } from '../inference-engine.js';
import type { PerTask } from '../seed/types.js';

export type { EngineName, EnginePreference } from '../inference-engine.js';

/** Flat row-major outputs of a batch of B faces. */
export interface CnnArrays {
  /** Per task [B, hidden]. */
  readonly features: PerTask<Float32Array>;
  /** Per task [B, n]. */
  readonly logits: PerTask<Float32Array>;
}

/**
 * One ensemble member on one engine. The seam between a member and the engine that runs it: the
 * runner only moves flat arrays, so members of one ensemble may run on different engines (a
 * member kind without an ONNX export stays on TF.js under `engine: onnx`).
 */
export interface MemberRunner {
  readonly engine: EngineName;
  readonly hidden: number;
  /** Preprocessed faces, [B, 112, 112, 3] row-major. */
  cnn(faces: Float32Array, batch: number): Promise<CnnArrays>;
  /** Per task features [B, T, hidden] → per task logits [B, T, n]. */
  gru(features: PerTask<Float32Array>, batch: number, time: number): Promise<PerTask<Float32Array>>;
  close(): Promise<void>;
}
