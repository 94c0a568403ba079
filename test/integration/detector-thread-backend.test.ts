// Which TF.js backend the face models' worker thread initialises: with the networks on ONNX
// Runtime it only prepares frames, so it must not load libtensorflow (tfjs-node fails from the
// second worker thread on, tensorflow/tfjs#8388) whatever `backend:` says.
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/models/backend.js';
import { HostedFaceDetector } from '../../src/models/face-detector/face-detector-host.js';
import { probeHost } from '../../src/models/placement/probe-host.js';

describe('the detector worker thread', () => {
  it('with the networks on ONNX Runtime, initialises the WASM backend even when backend tensorflow is configured', async () => {
    // Before: the worker asked for tfjs-node and failed to open where it is not installed (and
    // initialised libtensorflow in this thread where it is).
    // The capabilities are probed by the daemon's thread (load-models), not the worker.
    const capabilities = await probeHost(await selectBackend('wasm'));
    const hosted = await HostedFaceDetector.open({ worker: true, backend: 'tensorflow', engine: 'onnx', threads: 1, capabilities });
    try {
      expect(hosted.backend).toBe('wasm');
      expect(hosted.engines).toEqual({ detector: 'onnx', mesh: 'onnx' });
      expect(hosted.placement).toMatchObject({ engine: 'onnx', provider: 'cpu', device: 'cpu' });
    } finally {
      await hosted.close();
    }
  });

  it('with the networks on TF.js, initialises the configured backend (it runs them)', async () => {
    const hosted = await HostedFaceDetector.open({ worker: true, backend: 'cpu', engine: 'tfjs', threads: 1 });
    try {
      expect(hosted.backend).toBe('cpu');
      expect(hosted.placement).toMatchObject({ engine: 'tfjs', provider: 'cpu', device: 'cpu' });
    } finally {
      await hosted.close();
    }
  });
});
