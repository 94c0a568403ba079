// The single import point of TensorFlow.js for the whole code base: backends register here,
// and every other module takes `tf` from this file so there is exactly one engine instance.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

// TF.js writes its notices with console.warn/console.log unless in production mode: on Node its
// first CPU-backend tensor prints a "Hi, looks like you are running TensorFlow.js in Node.js"
// banner on stderr in every thread, which alarms operators; the daemon logs which backend runs
// and why (models/backend.ts callers). Only those notices depend on the flag.
tf.env().set('PROD', true);

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
