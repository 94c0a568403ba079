import type { TorchDType } from './types.js';
import { corrupt, unsupported } from './errors.js';
import { PyDict, PyFunction, PyTuple, describe } from './pickle.js';
import type { UnpickleHooks } from './pickle.js';

/**
 * The whitelist of Python globals a state_dict pickle may name, and the objects they stand for.
 * Anything else is refused: loading a pickle must never run code, and a checkpoint that needs
 * other classes is not a plain state_dict.
 */

export class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: TorchDType,
    readonly itemSize: number,
  ) {}
}

/** One serialised storage; `bytes` arrives when the file's storage records are read. */
export class StorageRef {
  bytes: Uint8Array | undefined = undefined;
  constructor(
    readonly key: string,
    readonly type: StorageType,
    /** Element count declared in the persistent id. */
    readonly numel: number,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

const STORAGE_TYPES: ReadonlyMap<string, StorageType> = new Map(
  (
    [
      ['FloatStorage', 'float32', 4],
      ['DoubleStorage', 'float64', 8],
      ['HalfStorage', 'float16', 2],
      ['LongStorage', 'int64', 8],
      ['IntStorage', 'int32', 4],
      ['ShortStorage', 'int16', 2],
      ['CharStorage', 'int8', 1],
      ['ByteStorage', 'uint8', 1],
      ['BoolStorage', 'bool', 1],
      // torch >= 2 writes untyped storages as bytes.
      ['UntypedStorage', 'uint8', 1],
    ] as const
  ).map(([name, dtype, size]) => [name, new StorageType(name, dtype, size)]),
);

/** Storage classes that exist in torch but have no TorchDType here. */
const KNOWN_UNSUPPORTED_STORAGE = new Set([
  'BFloat16Storage',
  'ComplexFloatStorage',
  'ComplexDoubleStorage',
  'QInt8Storage',
  'QUInt8Storage',
  'QInt32Storage',
  'QUInt4x2Storage',
  'QUInt2x4Storage',
]);

export function toIndex(v: unknown, what: string, source: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw corrupt(source, `${what} is ${typeof v === 'number' || typeof v === 'bigint' ? String(v) : describe(v)}, not a non-negative integer`);
}

function toIndexList(v: unknown, what: string, source: string): number[] {
  if (!(v instanceof PyTuple)) throw corrupt(source, `${what} is ${describe(v)}, not a tuple`);
  return v.items.map((x, i) => toIndex(x, `${what}[${i}]`, source));
}

function rebuildTensorV2(args: readonly unknown[], source: string): TensorRef {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.length < 4) throw corrupt(source, `_rebuild_tensor_v2 got ${args.length} arguments`);
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw corrupt(source, `_rebuild_tensor_v2 storage is ${describe(storage)}`);
  const shape = toIndexList(size, 'tensor size', source);
  const strides = toIndexList(stride, 'tensor stride', source);
  if (shape.length !== strides.length) throw corrupt(source, `tensor has ${shape.length} sizes but ${strides.length} strides`);
  return new TensorRef(storage, toIndex(offset, 'storage offset', source), shape, strides);
}

/** Whitelisted globals. Each value is what the pickle's GLOBAL opcode pushes. */
function makeGlobals(source: string): ReadonlyMap<string, unknown> {
  const newDict = (className: string) => new PyFunction(`collections.${className}`, () => new PyDict(className));
  const passData = (name: string) =>
    new PyFunction(name, (args) => {
      if (!(args[0] instanceof TensorRef)) throw corrupt(source, `${name} got ${describe(args[0])}`);
      return args[0];
    });
  const g = new Map<string, unknown>([
    ['collections.OrderedDict', newDict('OrderedDict')],
    ['torch._utils._rebuild_tensor_v2', new PyFunction('torch._utils._rebuild_tensor_v2', (a) => rebuildTensorV2(a, source))],
    // Parameters pickled directly (not via state_dict()) wrap the same tensor.
    ['torch._utils._rebuild_parameter', passData('torch._utils._rebuild_parameter')],
    [
      'torch._tensor._rebuild_from_type_v2',
      // (func, type, args, state): tensors with Python-side state; the plain tensor is func(*args).
      new PyFunction('torch._tensor._rebuild_from_type_v2', (a) => {
        const [fn, , args] = a;
        if (!(fn instanceof PyFunction) || !(args instanceof PyTuple)) throw corrupt(source, '_rebuild_from_type_v2 arguments are malformed');
        return fn.call(args.items);
      }),
    ],
    ['torch.Tensor', 'torch.Tensor'],
    ['torch.nn.parameter.Parameter', 'torch.nn.parameter.Parameter'],
    [
      '_codecs.encode',
      // Protocol 2 writes Python 3 bytes as _codecs.encode(str, 'latin1').
      new PyFunction('_codecs.encode', (a) => {
        const [s] = a;
        if (typeof s !== 'string') throw corrupt(source, '_codecs.encode of a non-string');
        return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
      }),
    ],
  ]);
  for (const [name, type] of STORAGE_TYPES) g.set(`torch.${name}`, type);
  return g;
}

export interface TorchUnpickleState {
  readonly hooks: UnpickleHooks;
  /** Storages by key, in first-reference order. */
  readonly storages: Map<string, StorageRef>;
}

/**
 * Hooks for one pickle. `loadStorage` supplies the bytes of a storage at first reference (zip
 * format) or returns nothing, leaving them to be filled in later (legacy format).
 */
export function torchUnpickleHooks(
  source: string,
  loadStorage: (ref: StorageRef) => void,
  onView?: (root: StorageRef, view: StorageRef, offset: number) => void,
): TorchUnpickleState {
  const globals = makeGlobals(source);
  const storages = new Map<string, StorageRef>();
  const findClass = (module: string, name: string): unknown => {
    const key = `${module}.${name}`;
    const v = globals.get(key);
    if (v !== undefined) return v;
    if (module === 'torch' && KNOWN_UNSUPPORTED_STORAGE.has(name)) throw unsupported(source, `tensors stored as ${key} are not supported`);
    throw unsupported(source, `pickle refers to ${key}, which is not on the whitelist of a PyTorch state_dict`);
  };
  const persistentLoad = (pid: unknown): unknown => {
    if (!(pid instanceof PyTuple)) throw corrupt(source, `persistent id is ${describe(pid)}, not a tuple`);
    const [kind, type, key, , numel, view] = pid.items;
    if (kind === 'module') throw unsupported(source, 'checkpoint pickles a whole nn.Module (with its source); save model.state_dict() instead');
    if (kind !== 'storage') throw corrupt(source, `unknown persistent id kind ${String(kind)}`);
    if (!(type instanceof StorageType)) throw corrupt(source, `persistent id storage type is ${describe(type)}`);
    if (typeof key !== 'string') throw corrupt(source, 'persistent id key is not a string');
    let root = storages.get(key);
    if (root === undefined) {
      root = new StorageRef(key, type, toIndex(numel, 'storage size', source));
      storages.set(key, root);
      loadStorage(root);
    } else if (root.type !== type) {
      throw corrupt(source, `storage ${key} is referenced as both ${root.type.name} and ${type.name}`);
    }
    if (view === undefined || view === null) return root;
    // Pre-1.0 legacy files: (view_key, offset, view_size) in elements of the root storage.
    if (!(view instanceof PyTuple) || view.items.length !== 3) throw corrupt(source, 'malformed storage view metadata');
    const [viewKey, offset, viewSize] = view.items;
    if (typeof viewKey !== 'string') throw corrupt(source, 'storage view key is not a string');
    let v = storages.get(viewKey);
    if (v === undefined) {
      v = new StorageRef(viewKey, type, toIndex(viewSize, 'storage view size', source));
      storages.set(viewKey, v);
      onView?.(root, v, toIndex(offset, 'storage view offset', source));
    }
    return v;
  };
  return { hooks: { findClass, persistentLoad }, storages };
}
