/**
 * Writes a float32 `state_dict` in `torch.save`'s zip format (pickle protocol 2, one raw storage
 * per tensor, as torch 2.x lays it out), so a test can serve checkpoints of a real key layout with
 * weights it chose (no PyTorch on the test machines). Read back by the project's own reader.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';

export interface PlainTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const bytes = (...parts: (number | string | Uint8Array)[]): number[] => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return out;
};
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const i32 = (n: number): Uint8Array => new Uint8Array(new Int32Array([n]).buffer);
const unicode = (s: string): number[] => {
  const b = strToU8(s);
  return bytes(0x58, u32(b.length), b);
};
const int = (n: number): number[] => bytes(0x4a, i32(n));
const tuple = (xs: readonly number[]): number[] => bytes(0x28, ...xs.flatMap(int), 0x74);
const ORDERED_DICT = bytes('c', 'collections\nOrderedDict\n', ')', 'R');

export function torchZipCheckpoint(sd: ReadonlyMap<string, PlainTensor>): Uint8Array {
  const pkl: number[] = bytes(0x80, 0x02, ...ORDERED_DICT, 0x28);
  const files: Zippable = {};
  let key = 0;
  for (const [name, t] of sd) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new RangeError(`${name}: ${t.data.length} values for shape [${t.shape.join(',')}]`);
    const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const storage = bytes(0x28, ...unicode('storage'), 'c', 'torch\nFloatStorage\n', ...unicode(String(key)), ...unicode('cpu'), ...int(numel), 0x74, 0x51);
    pkl.push(...unicode(name), ...bytes('c', 'torch._utils\n_rebuild_tensor_v2\n', 0x28), ...storage, ...int(0), ...tuple(t.shape), ...tuple(strides), 0x89, ...ORDERED_DICT, 0x74, 0x52);
    files[`archive/data/${key}`] = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    key++;
  }
  pkl.push(0x75, 0x2e);
  files['archive/data.pkl'] = Uint8Array.from(pkl);
  files['archive/byteorder'] = strToU8('little');
  files['archive/version'] = strToU8('3\n');
  return zipSync(files, { level: 0 });
}
