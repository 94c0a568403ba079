/**
 * One face model (BlazeFace or FaceMesh) on one engine: the TF.js graph model as packaged, or the
 * same graph converted to ONNX (cached, keyed by the packaged files' sha256) on ONNX Runtime.
 * Pre- and post-processing stay with the model classes, so both engines see identical inputs.
 */
import path from 'node:path';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { ErrorCodes, ModelLoadError } from '../../core/errors.js';
import type { EngineName, EnginePreference } from '../ensemble/member-runner.js';
import { fsIOHandler } from '../io/fs-io-handler.js';
import { cachedGraph } from '../onnx/onnx-cache.js';
import { createSession, loadOrt, type Ort, type OrtSession } from '../onnx/ort.js';
import { TFJS_CONVERTER_VERSION, tfjsGraphOutputs, tfjsGraphToOnnx } from '../onnx/tfjs-to-onnx.js';
import { readTfjsGraph } from '../onnx/tfjs-weights.js';
import type { Tensor, Tensor4D } from '../tf.js';

export interface GraphOutput {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface FaceGraph {
  readonly engine: EngineName;
  /** Runs the graph on an NHWC float32 batch (the caller keeps owning `input`); outputs in graph order. */
  run(input: Tensor4D): Promise<GraphOutput[]>;
  dispose(): void;
}

export interface FaceGraphOptions {
  readonly engine: EnginePreference;
  /** Intra-op threads of the ONNX Runtime session. */
  readonly threads: number;
  /** Where converted graphs are cached when the place beside the model is not writable. */
  readonly cacheDir?: string;
  /** false: convert in memory, neither reading nor writing a cache (parity tests of the converter itself). */
  readonly cache?: boolean;
  /** ONNX Runtime execution providers (the placement's; default: the CPU). */
  readonly providers?: readonly string[];
}

class TfjsGraph implements FaceGraph {
  readonly engine = 'tfjs';
  constructor(private readonly model: GraphModel) {}

  async run(input: Tensor4D): Promise<GraphOutput[]> {
    const outs = this.model.execute(input) as Tensor | Tensor[];
    const list = Array.isArray(outs) ? outs : [outs];
    try {
      const data = await Promise.all(list.map((t) => t.data()));
      return list.map((t, i) => ({ shape: t.shape, data: data[i] as Float32Array }));
    } finally {
      for (const t of list) t.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

class OnnxGraph implements FaceGraph {
  readonly engine = 'onnx';
  private released: Promise<void> | undefined;

  constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    private readonly inputName: string,
    private readonly outputs: readonly string[],
  ) {}

  async run(input: Tensor4D): Promise<GraphOutput[]> {
    if (this.released) throw new Error('face graph is closed');
    const data = (await input.data()) as Float32Array;
    const feeds = { [this.inputName]: new this.ort.Tensor('float32', data, input.shape) };
    const out = await this.session.run(feeds);
    return this.outputs.map((name) => {
      const t = out[name];
      if (t === undefined) throw new Error(`ONNX face graph output ${name} missing`);
      return { shape: t.dims, data: t.data as Float32Array };
    });
  }

  dispose(): void {
    this.released ??= this.session.release().catch(() => undefined);
  }
}

/** The ONNX graph of a TF.js graph model, converted once and cached beside it (or in the user cache). */
export async function convertedFaceGraph(
  modelJsonPath: string,
  cacheDir?: string,
  cache = true,
): Promise<{ readonly bytes: Uint8Array; readonly path: string; readonly built: boolean; readonly outputs: readonly string[] }> {
  const graph = await readTfjsGraph(modelJsonPath);
  const name = path.basename(modelJsonPath, '.json');
  const outputs = tfjsGraphOutputs(graph.json.modelTopology.node);
  if (!cache) return { bytes: tfjsGraphToOnnx(graph, name).bytes, path: '', built: true, outputs };
  // The file name carries the sha256 of model.json and its shards and the converter's version:
  // changed weights or a changed converter never meet a stale graph.
  const key = `${name}-${TFJS_CONVERTER_VERSION}-${graph.sha256.slice(0, 24)}.onnx`;
  const cached = await cachedGraph(path.dirname(modelJsonPath), key, () => tfjsGraphToOnnx(graph, name).bytes, cacheDir);
  return { ...cached, outputs };
}

async function onnxGraph(modelJsonPath: string, opts: FaceGraphOptions): Promise<FaceGraph> {
  const ort = await loadOrt();
  const converted = await convertedFaceGraph(modelJsonPath, opts.cacheDir, opts.cache ?? true);
  const session = await createSession(ort, converted.bytes, { threads: opts.threads, providers: opts.providers ?? ['cpu'] });
  const inputName = session.inputNames[0];
  if (inputName === undefined || session.inputNames.length !== 1) {
    await session.release();
    throw new ModelLoadError(ErrorCodes.MODEL_LOAD, `${modelJsonPath}: converted graph must have one input`);
  }
  return new OnnxGraph(ort, session, inputName, converted.outputs);
}

/**
 * `auto`: ONNX Runtime where it loads and the graph converts, TF.js otherwise; `onnx` fails
 * with the reason instead of falling back.
 */
export async function loadFaceGraph(modelJsonPath: string, opts: FaceGraphOptions): Promise<FaceGraph> {
  if (opts.engine !== 'tfjs') {
    try {
      return await onnxGraph(modelJsonPath, opts);
    } catch (err) {
      if (opts.engine === 'onnx') {
        throw err instanceof ModelLoadError ? err : new ModelLoadError(ErrorCodes.MODEL_LOAD, `${path.basename(modelJsonPath)} on ONNX Runtime: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  return new TfjsGraph(await loadGraphModel(fsIOHandler(modelJsonPath)));
}
