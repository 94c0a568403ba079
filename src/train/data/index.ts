/** The data side of `daemon train`: readers, presets, samplers, the face batch loader. */
export * from './types.js';
export { readAffWild2, readAffWild2Split, type AffWild2Source, type AffWild2Split } from './aff-wild2.js';
export { readDisfa, type DisfaSource } from './disfa.js';
export { readExpw, type ExpwSource } from './expw.js';
export { readAfewVa, type AfewVaSource } from './afew-va.js';
export { readManifest, facesFor } from './manifest.js';
export { loadPreset, PRESETS, PRESET_TASK, type PresetName, type DatasetRoots } from './presets.js';
export { exprBalancedSampler, vaHistogramSampler, shuffleSampler } from './samplers.js';
export { mlRosSampler, type MlRosVariant, type MlRosOptions } from './ml-ros.js';
export { createFaceBatchLoader, type FaceBatchLoaderOptions, type StatefulFaceBatchLoader } from './face-batch-loader.js';
export { writeSyntheticAffWild2, type SyntheticAffWild2, type SyntheticAffWild2Options } from './synthetic.js';
export { formatReport, DataFormatError } from './read-report.js';
export { Rng, hashSeed } from './rng.js';
export { sequenceWindows, videosOf, type SequenceWindow } from './sequence-windows.js';
