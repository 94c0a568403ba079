/**
 * "Engine" means one thing in this codebase: the inference library that runs a model (`model.engine`,
 * `detector.engine`, `--engine`). The objects that hold a loaded model are runners and models.
 */

/** `onnx-int8`: ONNX Runtime with a statically quantised CNN (opt-in; GRU heads stay fp32). */
export type EngineName = 'onnx' | 'onnx-int8' | 'tfjs';
/** `auto`: ONNX Runtime where it loads, TF.js otherwise. */
export type EnginePreference = 'auto' | EngineName;
