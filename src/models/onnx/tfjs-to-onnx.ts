/**
 * TF.js graph model → ONNX, for the small op set of MediaPipe's face models (BlazeFace, FaceMesh):
 * convolutions (plain, depthwise, fused with bias and ReLU/PReLU), PReLU, ReLU, sigmoid, add,
 * max pooling, constant pads, reshapes and identities. Anything else is refused by name.
 *
 * Layout: the graph keeps TF's NHWC input and outputs; a transpose after the input turns
 * activations NCHW (ONNX's convolution layout, with weights transposed once here), and 4-D
 * activations go back to NHWC before a reshape or a graph output, so the flattening order is TF's.
 */
import { ErrorCodes, ModelLoadError } from '../../core/errors.js';
import { GraphBuilder } from './graph-builder.js';
import type { TfjsAttrValue, TfjsGraph, TfjsNode, WeightArray } from './tfjs-weights.js';

/** Bump when the converted graphs change for the same TF.js model (part of the cache key). */
export const TFJS_CONVERTER_VERSION = 'tfjs-onnx-1';

export const SUPPORTED_TFJS_OPS = ['Placeholder', 'Const', 'Identity', '_FusedConv2D', 'DepthwiseConv2dNative', 'AddV2', 'Relu', 'Prelu', 'Sigmoid', 'MaxPool', 'Pad', 'Reshape'] as const;

/** A 4-D activation (NCHW in the graph; `shape` is TF's logical NHWC with -1 for a free batch), or another tensor. */
type Value =
  | { readonly kind: 'const'; readonly w: WeightArray }
  | { readonly kind: 'act'; readonly name: string; readonly shape: readonly number[]; readonly nchw: boolean };

export interface ConvertedGraph {
  readonly bytes: Uint8Array;
  /** The graph's NHWC input (TF's placeholder name and shape, -1 for a free batch). */
  readonly input: { readonly name: string; readonly shape: readonly number[] };
  /** Output names in graph order (TF's node names). */
  readonly outputs: readonly string[];
}

function fail(model: string, why: string): ModelLoadError {
  return new ModelLoadError(ErrorCodes.MODEL_LOAD, `converting ${model} to ONNX: ${why}`);
}

function ints(a: TfjsAttrValue | undefined): number[] {
  return (a?.list?.i ?? []).map(Number);
}

function str(a: TfjsAttrValue | undefined): string | undefined {
  return a?.s === undefined ? undefined : Buffer.from(a.s, 'base64').toString('utf8');
}

function strs(a: TfjsAttrValue | undefined): string[] {
  return (a?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}

/** TF's SAME: out = ceil(in/stride), the odd pixel of padding goes after. */
function samePads(size: number, k: number, stride: number, dilation: number): [number, number] {
  const eff = (k - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + eff - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function outSize(size: number, k: number, stride: number, dilation: number, pads: readonly [number, number]): number {
  return Math.floor((size + pads[0] + pads[1] - ((k - 1) * dilation + 1)) / stride) + 1;
}

/** The outputs of a TF.js graph: the nodes nothing consumes (besides constants and the input), in graph order. */
export function tfjsGraphOutputs(nodes: readonly TfjsNode[]): string[] {
  const consumed = new Set<string>();
  for (const n of nodes) for (const i of n.input ?? []) consumed.add(i.replace(/^\^/, '').split(':')[0] ?? '');
  return nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder').map((n) => n.name);
}

/** Converts a graph read by {@link readTfjsGraph}; `model` names it in errors. */
export function tfjsGraphToOnnx(graph: TfjsGraph, model: string): ConvertedGraph {
  const g = new GraphBuilder(model);
  const values = new Map<string, Value>();
  const nodes = graph.json.modelTopology.node;
  let input: ConvertedGraph['input'] | undefined;

  const ref = (n: TfjsNode, i: number): Value => {
    const raw = n.input?.[i];
    if (raw === undefined) throw fail(model, `${n.op} ${n.name} lacks input ${i}`);
    const [name, port] = raw.split(':');
    if (port !== undefined && port !== '0') throw fail(model, `${n.name} reads output ${port} of ${name} (only single-output ops are supported)`);
    const v = values.get(name ?? '');
    if (v === undefined) throw fail(model, `${n.name} reads ${raw}, which is not defined before it`);
    return v;
  };
  const act = (n: TfjsNode, i: number): Value & { kind: 'act' } => {
    const v = ref(n, i);
    if (v.kind !== 'act') throw fail(model, `${n.op} ${n.name}: input ${i} is a constant (not supported)`);
    return v;
  };
  const constant = (n: TfjsNode, i: number): WeightArray => {
    const v = ref(n, i);
    if (v.kind !== 'const') throw fail(model, `${n.op} ${n.name}: input ${i} must be a constant`);
    return v.w;
  };
  const floats = (n: TfjsNode, i: number): Float32Array => {
    const w = constant(n, i);
    if (w.dtype !== 'float32') throw fail(model, `${n.op} ${n.name}: input ${i} must be float32`);
    return w.data;
  };
  const nhwcOf = (v: Value & { kind: 'act' }): string => (v.nchw ? g.one('Transpose', [v.name], { perm: [0, 2, 3, 1] }) : v.name);
  const check4d = (n: TfjsNode, v: Value & { kind: 'act' }): void => {
    if (!v.nchw) throw fail(model, `${n.op} ${n.name} needs a 4-D NHWC activation, got shape [${v.shape.join(',')}]`);
    const fmt = str(n.attr?.data_format);
    if (fmt !== undefined && fmt !== 'NHWC') throw fail(model, `${n.op} ${n.name}: data_format ${fmt} (only NHWC)`);
  };
  const spatial = (n: TfjsNode, x: Value & { kind: 'act' }, kh: number, kw: number): { pads: number[]; strides: number[]; dilations: number[]; h: number; w: number } => {
    const st = ints(n.attr?.strides);
    const dl = n.attr?.dilations ? ints(n.attr.dilations) : [1, 1, 1, 1];
    const [sh, sw, dh, dw] = [st[1] ?? 1, st[2] ?? 1, dl[1] ?? 1, dl[2] ?? 1];
    if (st.length !== 4 || st[0] !== 1 || st[3] !== 1) throw fail(model, `${n.op} ${n.name}: strides [${st.join(',')}]`);
    const padding = str(n.attr?.padding);
    const [h, w] = [x.shape[1] ?? 0, x.shape[2] ?? 0];
    let ph: [number, number], pw: [number, number];
    if (padding === 'SAME') [ph, pw] = [samePads(h, kh, sh, dh), samePads(w, kw, sw, dw)];
    else if (padding === 'VALID') [ph, pw] = [[0, 0], [0, 0]];
    else throw fail(model, `${n.op} ${n.name}: padding ${padding ?? '(none)'} (SAME and VALID are supported)`);
    return { pads: [ph[0], pw[0], ph[1], pw[1]], strides: [sh, sw], dilations: [dh, dw], h: outSize(h, kh, sh, dh, ph), w: outSize(w, kw, sw, dw, pw) };
  };

  for (const n of nodes) {
    const out = (name: string, shape: readonly number[], nchw: boolean): void => void values.set(n.name, { kind: 'act', name, shape, nchw });
    switch (n.op) {
      case 'Const': {
        const w = graph.weights.get(n.name);
        if (w === undefined) throw fail(model, `constant ${n.name} has no weights`);
        values.set(n.name, { kind: 'const', w });
        break;
      }
      case 'Placeholder': {
        if (input !== undefined) throw fail(model, `a second input ${n.name} (one input is supported)`);
        const dims = (n.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size ?? -1));
        if (dims.length !== 4 || dims.slice(1).some((d) => d <= 0)) throw fail(model, `input ${n.name} has shape [${dims.join(',')}] (NHWC with fixed H, W, C is supported)`);
        input = { name: n.name, shape: dims };
        g.input(n.name, dims.map((d, i) => (i === 0 && d < 0 ? 'batch' : d)));
        out(g.one('Transpose', [n.name], { perm: [0, 3, 1, 2] }), dims, true);
        break;
      }
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative': {
        const x = act(n, 0);
        check4d(n, x);
        const f = constant(n, 1);
        if (f.dtype !== 'float32' || f.shape.length !== 4) throw fail(model, `${n.name}: filter must be float32 [kh,kw,in,out]`);
        const [kh, kw, ci, co] = f.shape as [number, number, number, number];
        const c = x.shape[3] ?? 0;
        if (ci !== c) throw fail(model, `${n.name}: filter expects ${ci} channels, input has ${c}`);
        const s = spatial(n, x, kh, kw);
        const depthwise = n.op === 'DepthwiseConv2dNative';
        const outC = depthwise ? ci * co : co;
        // TF [kh,kw,in,out] → ONNX [out,in,kh,kw]; depthwise [kh,kw,C,mult] → [C·mult,1,kh,kw] with group C.
        const wt = new Float32Array(f.data.length);
        for (let y = 0; y < kh; y++)
          for (let xx = 0; xx < kw; xx++)
            for (let i = 0; i < ci; i++)
              for (let o = 0; o < co; o++) {
                const src = f.data[((y * kw + xx) * ci + i) * co + o]!;
                wt[depthwise ? ((i * co + o) * kh + y) * kw + xx : ((o * ci + i) * kh + y) * kw + xx] = src;
              }
        const inputs = [x.name, g.weight(`${n.name}/W`, wt, depthwise ? [outC, 1, kh, kw] : [co, ci, kh, kw])];
        const fused = depthwise ? [] : strs(n.attr?.fused_ops);
        if (!depthwise) {
          if (fused[0] !== 'BiasAdd' || fused.length > 2) throw fail(model, `${n.name}: fused ops [${fused.join(',')}] (BiasAdd then optional Relu or Prelu)`);
          const b = floats(n, 2);
          if (b.length !== co) throw fail(model, `${n.name}: bias of ${b.length} for ${co} channels`);
          inputs.push(g.weight(`${n.name}/B`, b, [co]));
        }
        let y = g.one('Conv', inputs, { kernel_shape: [kh, kw], strides: s.strides, dilations: s.dilations, pads: s.pads, group: depthwise ? ci : 1 });
        if (fused[1] === 'Relu') y = g.one('Relu', [y]);
        else if (fused[1] === 'Prelu') y = g.one('PRelu', [y, preluSlope(n, floats(n, 3), outC)]);
        else if (fused[1] !== undefined) throw fail(model, `${n.name}: fused activation ${fused[1]} (Relu and Prelu are supported)`);
        out(y, [x.shape[0] ?? -1, s.h, s.w, outC], true);
        break;
      }
      case 'Prelu': {
        const x = act(n, 0);
        check4d(n, x);
        out(g.one('PRelu', [x.name, preluSlope(n, floats(n, 1), x.shape[3] ?? 0)]), x.shape, true);
        break;
      }
      case 'Relu':
      case 'Sigmoid':
      case 'Identity': {
        const x = act(n, 0);
        values.set(n.name, { ...x, name: n.op === 'Identity' ? x.name : g.one(n.op, [x.name]) });
        break;
      }
      case 'AddV2': {
        const [a, b] = [act(n, 0), act(n, 1)];
        if (a.nchw !== b.nchw || a.shape.join() !== b.shape.join()) throw fail(model, `${n.name}: adds [${a.shape.join(',')}] and [${b.shape.join(',')}] (broadcasting is not supported)`);
        out(g.one('Add', [a.name, b.name]), a.shape, a.nchw);
        break;
      }
      case 'MaxPool': {
        const x = act(n, 0);
        check4d(n, x);
        const k = ints(n.attr?.ksize);
        if (k.length !== 4 || k[0] !== 1 || k[3] !== 1) throw fail(model, `${n.name}: ksize [${k.join(',')}]`);
        const [kh, kw] = [k[1]!, k[2]!];
        const s = spatial(n, x, kh, kw);
        out(g.one('MaxPool', [x.name], { kernel_shape: [kh, kw], strides: s.strides, pads: s.pads }), [x.shape[0] ?? -1, s.h, s.w, x.shape[3] ?? 0], true);
        break;
      }
      case 'Pad': {
        const x = act(n, 0);
        check4d(n, x);
        const p = constant(n, 1);
        if (p.shape.join() !== '4,2' || p.data[0] !== 0 || p.data[1] !== 0) throw fail(model, `${n.name}: paddings must be [4,2] and leave the batch alone`);
        const at = (d: number, side: number): number => Number(p.data[d * 2 + side]);
        // NHWC paddings → ONNX's [begin N,C,H,W, end N,C,H,W].
        const pads = [0, at(3, 0), at(1, 0), at(2, 0), 0, at(3, 1), at(1, 1), at(2, 1)];
        if (pads.some((v) => v < 0)) throw fail(model, `${n.name}: negative paddings`);
        const shape = x.shape.map((d, i) => (i === 0 ? d : d + at(i, 0) + at(i, 1)));
        out(g.one('Pad', [x.name, g.ints(`${n.name}/pads`, pads)], { mode: 'constant' }), shape, true);
        break;
      }
      case 'Reshape': {
        const x = act(n, 0);
        const s = constant(n, 1);
        if (s.dtype !== 'int32') throw fail(model, `${n.name}: shape must be int32`);
        const target = Array.from(s.data);
        const known = x.shape.slice(1).reduce((a, b) => a * b, 1);
        const rest = target.slice(1).reduce((a, b) => a * b, 1);
        if (target.slice(1).some((d) => d <= 0) || rest !== known) throw fail(model, `${n.name}: reshape of [${x.shape.join(',')}] to [${target.join(',')}] (only the batch may be free)`);
        out(g.one('Reshape', [nhwcOf(x), g.ints(`${n.name}/shape`, target)]), [x.shape[0] ?? -1, ...target.slice(1)], false);
        break;
      }
      default:
        throw fail(model, `op ${n.op} (node ${n.name}) is not supported; supported: ${SUPPORTED_TFJS_OPS.join(', ')}`);
    }
  }
  if (input === undefined) throw fail(model, 'no input (Placeholder)');
  const outputs = tfjsGraphOutputs(nodes);
  for (const name of outputs) {
    const v = values.get(name);
    if (v === undefined || v.kind !== 'act') throw fail(model, `output ${name} is not an activation`);
    g.op('Identity', [nhwcOf(v)], {}, [name]);
    g.tap(name);
  }
  if (outputs.length === 0) throw fail(model, 'no outputs');
  return { bytes: g.encode({ source: model, converter: TFJS_CONVERTER_VERSION, sha256: graph.sha256 }), input, outputs };

  function preluSlope(n: TfjsNode, alpha: Float32Array, channels: number): string {
    if (alpha.length !== channels) throw fail(model, `${n.name}: PReLU slope of ${alpha.length} for ${channels} channels`);
    return g.weight(`${n.name}/alpha`, alpha, [channels, 1, 1]);
  }
}
