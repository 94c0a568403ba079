import type { TorchDType, TorchTensor } from './types.js';
import { corrupt, unsupported } from './errors.js';
import type { TensorRef } from './torch-globals.js';

/**
 * Turns a strided view into a contiguous row-major tensor. Views sharing a storage, offsets,
 * transposes and zero strides (expand) are all just index arithmetic here.
 */

type OutArray = TorchTensor['data'];

/** 2^28 elements (1 GiB of float32) is ~250× the largest tensor of the seed's ResNet-50. */
const MAX_ELEMENTS = 2 ** 28;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function allocate(dtype: TorchDType, n: number): OutArray {
  switch (dtype) {
    case 'float32':
    case 'float64':
    case 'float16':
      return new Float32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
    case 'int16':
    case 'int8':
      return new Int32Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Copies element `src` (an element index into the storage) to `out[dst]`. */
function elementCopier(dtype: TorchDType, view: DataView, out: OutArray): (dst: number, src: number) => void {
  switch (dtype) {
    case 'float32': {
      const o = out as Float32Array;
      return (d, s) => { o[d] = view.getFloat32(s * 4, true); };
    }
    case 'float64': {
      const o = out as Float32Array;
      return (d, s) => { o[d] = view.getFloat64(s * 8, true); };
    }
    case 'float16': {
      const o = out as Float32Array;
      return (d, s) => { o[d] = halfToFloat(view.getUint16(s * 2, true)); };
    }
    case 'int64': {
      const o = out as BigInt64Array;
      return (d, s) => { o[d] = view.getBigInt64(s * 8, true); };
    }
    case 'int32': {
      const o = out as Int32Array;
      return (d, s) => { o[d] = view.getInt32(s * 4, true); };
    }
    case 'int16': {
      const o = out as Int32Array;
      return (d, s) => { o[d] = view.getInt16(s * 2, true); };
    }
    case 'int8': {
      const o = out as Int32Array;
      return (d, s) => { o[d] = view.getInt8(s); };
    }
    case 'uint8': {
      const o = out as Uint8Array;
      return (d, s) => { o[d] = view.getUint8(s); };
    }
    case 'bool': {
      const o = out as Uint8Array;
      return (d, s) => { o[d] = view.getUint8(s) === 0 ? 0 : 1; };
    }
  }
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const size = shape[i] ?? 0;
    if (size !== 1 && stride[i] !== expected) return false;
    expected *= size;
  }
  return true;
}

export function materialize(ref: TensorRef, key: string, source: string): TorchTensor {
  const { storage, shape, stride, offset } = ref;
  const { dtype, itemSize } = storage.type;
  const bytes = storage.bytes;
  if (bytes === undefined) throw corrupt(source, `tensor ${key}: storage ${storage.key} has no data`);
  const available = Math.min(storage.numel, Math.floor(bytes.length / itemSize));
  let n = 1;
  let last = offset;
  for (let i = 0; i < shape.length; i++) {
    const size = shape[i] ?? 0;
    n *= size;
    if (size > 0) last += (size - 1) * (stride[i] ?? 0);
  }
  const meta = { dtype, shape: [...shape] };
  if (n === 0) return { ...meta, data: allocate(dtype, 0) };
  // Zero strides let a tiny storage describe an enormous tensor; refuse before allocating it.
  if (n > MAX_ELEMENTS) throw unsupported(source, `tensor ${key} [${shape.join(',')}] has more than ${MAX_ELEMENTS} elements`);
  if (!Number.isSafeInteger(n) || last >= available) {
    throw corrupt(source, `tensor ${key} [${shape.join(',')}] at offset ${offset} overruns its storage of ${available} elements`);
  }
  if (dtype === 'float32' && LITTLE_ENDIAN_HOST && isContiguous(shape, stride)) {
    // Fast path for the bulk of a checkpoint; slice() also realigns the bytes for the view.
    const start = bytes.byteOffset + offset * 4;
    return { ...meta, data: new Float32Array(bytes.buffer.slice(start, start + n * 4)) };
  }
  const out = allocate(dtype, n);
  const copy = elementCopier(dtype, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), out);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = offset;
  for (let dst = 0; dst < n; dst++) {
    copy(dst, src);
    // Odometer over the multi-index, innermost dimension fastest.
    for (let d = rank - 1; d >= 0; d--) {
      const size = shape[d] ?? 1;
      const st = stride[d] ?? 0;
      const i = (index[d] ?? 0) + 1;
      if (i < size) {
        index[d] = i;
        src += st;
        break;
      }
      index[d] = 0;
      src -= (size - 1) * st;
    }
  }
  return { ...meta, data: out };
}
