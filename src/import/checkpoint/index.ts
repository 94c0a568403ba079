export { readTorchCheckpoint, readTorchCheckpointWithInfo } from './read-torch-checkpoint.js';
export type { CheckpointInfo, CheckpointReadResult, ReadCheckpointOptions } from './read-torch-checkpoint.js';
export { CheckpointError, CheckpointErrorCode } from './errors.js';
export type { CheckpointErrorContext } from './errors.js';
export type { StateDict, TorchDType, TorchTensor } from './types.js';
