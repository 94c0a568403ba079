/**
 * Backend for training: tfjs-node-gpu / tfjs-node where they load (native kernels, gradients
 * included), else wasm with the backward kernels it lacks registered here, else the pure-JS cpu
 * backend (correct, ~30× slower on convolutions). Gradients are registered in every case.
 */
import { selectBackend, type BackendInfo, type BackendPreference } from '../../models/backend.js';
import { registerGradients } from './gradients.js';
import { registerWasmGradKernels } from './wasm-grad-kernels.js';

export async function selectTrainingBackend(requested: BackendPreference = 'auto'): Promise<BackendInfo> {
  await registerGradients();
  const info = await selectBackend(requested);
  if (info.name === 'wasm') registerWasmGradKernels();
  return info;
}
