import { AttributeType, DataType, ModelProto } from './onnx-proto.js';

export type Attr = number | string | readonly number[] | { readonly float: number };
type Dim = number | string;

interface Node {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: Record<string, unknown>[];
}

/** Opset 17 and IR 8: supported by ONNX Runtime ≥ 1.12 (GRU, Conv, Gemm, MaxPool are unchanged since). */
export const OPSET = 17;
const IR_VERSION = 8;

function attribute(name: string, v: Attr): Record<string, unknown> {
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  return { name, type: AttributeType.FLOAT, f: (v as { float: number }).float };
}

function valueInfo(name: string, shape: readonly Dim[]): Record<string, unknown> {
  return {
    name,
    type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/** A small ONNX graph writer: nodes in topological order, float32 initializers, named I/O. */
export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private counter = 0;

  /** `prefix` starts every generated name (two graphs that exchange tensors must not collide). */
  constructor(
    private readonly name: string,
    private readonly prefix = '',
  ) {}

  input(name: string, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, shape));
    return name;
  }

  output(name: string, shape: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, shape));
  }

  /** A graph output whose shape ONNX Runtime infers (calibration taps, saved activations). */
  tap(name: string, elemType: number = DataType.FLOAT): void {
    this.outputs.push({ name, type: { tensor_type: { elem_type: elemType } } });
  }

  /** A graph input of any shape (a tensor another graph produced). */
  inputAny(name: string, elemType: number = DataType.FLOAT): string {
    this.inputs.push({ name, type: { tensor_type: { elem_type: elemType } } });
    return name;
  }

  /** A float32 constant (weights). */
  weight(name: string, data: Float32Array, dims: readonly number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new RangeError(`initializer ${name}: ${data.length} values for shape [${dims.join(',')}]`);
    this.initializers.push({ name, data_type: DataType.FLOAT, dims, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** A constant of another element type (quantised weights, zero points), from its raw bytes. */
  raw(name: string, dataType: number, bytes: Uint8Array, dims: readonly number[]): string {
    this.initializers.push({ name, data_type: dataType, dims, raw_data: bytes });
    return name;
  }

  /** An int64 constant (shapes, axes). */
  ints(name: string, values: readonly number[]): string {
    const raw = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, data_type: DataType.INT64, dims: [values.length], raw_data: new Uint8Array(raw.buffer) });
    return name;
  }

  /** Adds a node; returns its output names (one fresh name per requested output). */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs: number | readonly string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => `${this.prefix}${opType.toLowerCase()}_${this.counter++}`) : [...outputs];
    this.nodes.push({
      input: [...inputs],
      output: outs,
      name: `${opType}_${this.counter++}`,
      op_type: opType,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  one(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    return this.op(opType, inputs, attrs)[0] as string;
  }

  /** The serialised ModelProto. */
  encode(metadata: Record<string, string> = {}): Uint8Array {
    const model = {
      ir_version: IR_VERSION,
      opset_import: [{ domain: '', version: OPSET }],
      producer_name: 'affect-daemon',
      producer_version: '1',
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
    const err = ModelProto.verify(model);
    if (err) throw new Error(`invalid ONNX model ${this.name}: ${err}`);
    return ModelProto.encode(ModelProto.fromObject(model)).finish();
  }
}
