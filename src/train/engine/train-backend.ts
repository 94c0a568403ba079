/**
 * Backend for training: tfjs-node-gpu / tfjs-node where they load (native kernels, gradients
 * included), else wasm with the backward kernels it lacks registered here, else the pure-JS cpu
 * backend (correct, ~30× slower on convolutions). Gradients are registered in every case.
 *
 * Engine for the CNN phases: with a native TensorFlow backend TF.js's tape runs them (the GPU
 * path); without one, ONNX Runtime's threaded kernels take the gradients (engine/onnx-cnn-step.ts,
 * several times wasm's speed), TF.js keeps the losses, Adam and the GRU phases.
 */
import { selectBackend, type BackendInfo, type BackendPreference } from '../../models/backend.js';
import { loadOrt } from '../../models/onnx/ort.js';
import { registerGradients } from './gradients.js';
import { registerWasmGradKernels } from './wasm-grad-kernels.js';

export type TrainEngine = 'tfjs' | 'onnx';
export type TrainEnginePreference = 'auto' | TrainEngine;

export async function selectTrainingBackend(requested: BackendPreference = 'auto'): Promise<BackendInfo> {
  await registerGradients();
  const info = await selectBackend(requested);
  if (info.name === 'wasm') registerWasmGradKernels();
  return info;
}

/**
 * 'auto': TF.js on a native TensorFlow backend, else ONNX Runtime when it loads, else TF.js.
 * 'onnx' is refused (ModelLoadError) when ONNX Runtime does not load.
 */
export async function resolveTrainEngine(pref: TrainEnginePreference, backend: BackendInfo): Promise<TrainEngine> {
  if (pref === 'tfjs') return 'tfjs';
  if (pref === 'auto' && backend.name === 'tensorflow') return 'tfjs';
  try {
    await loadOrt();
    return 'onnx';
  } catch (err) {
    if (pref === 'onnx') throw err;
    return 'tfjs';
  }
}
