/** Element types found in the seed's PyTorch checkpoints (BN counters are int64). */
export type TorchDType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** One tensor of a PyTorch `state_dict`, materialised contiguously in row-major (C) order. */
export interface TorchTensor {
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  /** float types are widened/narrowed to Float32Array; integer types to Float64Array or BigInt64Array (int64). */
  readonly data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

/** A `state_dict` in key order as saved. */
export type StateDict = ReadonlyMap<string, TorchTensor>;
