import type { PerTask } from '../seed/types.js';

/** `onnx-int8`: ONNX Runtime with a statically quantised CNN (opt-in; GRU heads stay fp32). */
export type EngineName = 'onnx' | 'onnx-int8' | 'tfjs';
/** `auto`: ONNX Runtime where it loads, TF.js otherwise. */
export type EnginePreference = 'auto' | EngineName;

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
export interface MemberEngine {
  readonly engine: EngineName;
  readonly hidden: number;
  /** Preprocessed faces, [B, 112, 112, 3] row-major. */
  cnn(faces: Float32Array, batch: number): Promise<CnnArrays>;
  /** Per task features [B, T, hidden] → per task logits [B, T, n]. */
  gru(features: PerTask<Float32Array>, batch: number, time: number): Promise<PerTask<Float32Array>>;
  dispose(): Promise<void>;
}
