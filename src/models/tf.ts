// The single import point of TensorFlow.js for the whole code base: backends register here,
// and every other module takes `tf` from this file so there is exactly one engine instance.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

export { tf };
export type {
  KernelConfig,
  NamedAttrMap,
  NamedTensorInfoMap,
  NamedTensorMap,
  Rank,
  Scalar,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  TensorInfo,
} from '@tensorflow/tfjs-core';
