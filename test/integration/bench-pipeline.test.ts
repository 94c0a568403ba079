import { describe, expect, it } from 'vitest';
import { benchPipeline, formatRun } from '../../src/bench/pipeline/pipeline.js';

describe('daemon bench pipeline', () => {
  it('says where the time went: per-stage means from the daemon\'s own histograms, the process\'s cores and the load, per configuration', async () => {
    const runs = await benchPipeline({ seconds: 3, archs: ['compact-half'], streams: [1], analysisFps: [10], members: 1, threads: [1, 2], workers: [1], rounds: 1, engine: 'onnx', backend: 'wasm', json: true });
    // Both thread settings, in the grid's order, each with its own figures.
    expect(runs.map((r) => [r.threads, r.workers, r.maxWaitMs])).toEqual([[1, 1, 15], [2, 1, 15]]);
    for (const r of runs) {
      expect(r.faceFramesPerSecond).toBeGreaterThan(3);
      const s = r.stages;
      expect(s.decodeMs).toBeGreaterThan(0);
      expect(s.detectMs).toBeGreaterThan(0);
      expect(s.cnnBatchSize).toBeGreaterThanOrEqual(1);
      expect(s.cnnMsPerBatch).toBeGreaterThan(0);
      // ms per face is the batch time shared by its faces.
      expect(Math.abs(s.cnnMsPerFace * s.cnnBatchSize - s.cnnMsPerBatch)).toBeLessThan(0.1 * s.cnnMsPerBatch + 0.2);
      expect(s.gruMsPerBatch).toBeGreaterThan(0);
      expect(s.modelBusy).toBeGreaterThan(0);
      // The process's CPU covers every thread (decoding, the detector's and the model's workers).
      expect(s.processCores).toBeGreaterThan(0.05);
      // CPU per event: the process's CPU over the measured seconds shared by the events.
      expect(Math.abs(s.cpuMsPerFaceFrame - (s.processCores * 1000) / r.faceFramesPerSecond)).toBeLessThan(0.1 * s.cpuMsPerFaceFrame);
      expect(r.loadAverage).toBeGreaterThan(0);
      expect(formatRun(r, 'onnx')).toMatch(/stages: decode [\d.]+ ms\/frame · detect [\d.]+ ms\/frame · cnn [\d.]+ ms\/batch of [\d.]+ \([\d.]+ ms\/face\) · gru [\d.]+ ms\/batch/);
    }
  }, 300_000);
});
