/** Element types found in the seed's PyTorch checkpoints (BN counters are int64). */
export type TorchDType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** One tensor of a PyTorch `state_dict`, materialised contiguously in row-major (C) order. */
export interface TorchTensor {
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  /**
   * float32/float64/float16 → Float32Array (float64 narrowed); int64 → BigInt64Array;
   * int32/int16/int8 → Int32Array; uint8 and bool (0/1) → Uint8Array. (`readTorchCheckpoint`
   * never produces Float64Array; it stays in the union for other producers.)
   */
  readonly data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

/** A `state_dict` in key order as saved. */
export type StateDict = ReadonlyMap<string, TorchTensor>;
