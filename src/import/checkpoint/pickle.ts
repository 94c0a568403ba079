import { corrupt, unsupported } from './errors.js';

/**
 * A minimal Python unpickler for the opcodes PyTorch checkpoints use (protocols 2-5). It never
 * executes anything: a GLOBAL is resolved by the caller's whitelist (`findClass`), and REDUCE /
 * NEWOBJ may only call the `PyFunction`s that whitelist hands out.
 */

export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** `dict` and `collections.OrderedDict` (insertion order is kept by Map). */
export class PyDict {
  readonly entries = new Map<unknown, unknown>();
  /** State from BUILD (e.g. the `_metadata` attribute torch attaches to state_dicts); unused. */
  state: unknown = undefined;
  constructor(readonly className: string = 'dict') {}
}

export class PyFunction {
  constructor(
    readonly qualname: string,
    readonly call: (args: readonly unknown[]) => unknown,
  ) {}
}

export interface UnpickleHooks {
  /** Returns the value of a whitelisted global; must throw for anything else. */
  findClass(module: string, name: string): unknown;
  persistentLoad(pid: unknown): unknown;
}

export interface UnpickleResult {
  readonly value: unknown;
  /** Offset just past the STOP opcode, where the next pickle (legacy format) starts. */
  readonly end: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MARK = Symbol('mark');
const MAX_GLOBAL_LINE = 512;

class Cursor {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    private readonly source: string,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.bytes.length) {
      throw corrupt(this.source, `pickle truncated at byte ${this.pos} (needs ${n} more bytes)`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  u64(): number {
    const at = this.need(8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(this.source, `pickle length ${v} at byte ${at} is absurd`);
    return Number(v);
  }
  f64be(): number {
    return this.view.getFloat64(this.need(8), false);
  }
  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  line(): string {
    const start = this.pos;
    const limit = Math.min(this.bytes.length, start + MAX_GLOBAL_LINE);
    for (let i = start; i < limit; i++) {
      if (this.bytes[i] === 0x0a) {
        this.pos = i + 1;
        return latin1(this.bytes.subarray(start, i));
      }
    }
    throw corrupt(this.source, `pickle text line at byte ${start} is unterminated`);
  }
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** Little-endian two's-complement integer (LONG1/LONG4); a number when it is exactly representable. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] ?? 0);
  if (((b[b.length - 1] ?? 0) & 0x80) !== 0) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export function unpickle(bytes: Uint8Array, start: number, hooks: UnpickleHooks, source: string): UnpickleResult {
  const cur = new Cursor(bytes, start, source);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const fail = (what: string): never => {
    throw corrupt(source, `invalid pickle at byte ${cur.pos}: ${what}`);
  };
  const pop = (): unknown => {
    const floor = marks.length > 0 ? (marks[marks.length - 1] ?? 0) : 0;
    if (stack.length <= floor) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const at = marks.pop();
    if (at === undefined) fail('no MARK');
    return stack.splice(at ?? 0);
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch (err) {
      throw corrupt(source, `invalid UTF-8 string in pickle at byte ${cur.pos}`, err);
    }
  };
  const asDict = (v: unknown): PyDict => (v instanceof PyDict ? v : fail('SETITEM(S) on a non-dict'));
  const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : fail('APPEND(S) on a non-list'));
  const callFn = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyFunction)) throw unsupported(source, `pickle calls a non-whitelisted object (${describe(fn)})`);
    if (!(args instanceof PyTuple)) fail(`arguments of ${fn.qualname} are not a tuple`);
    return fn.call((args as PyTuple).items);
  };
  const memoGet = (i: number): unknown => (memo.has(i) ? memo.get(i) : fail(`memo slot ${i} is empty`));

  for (;;) {
    const at = cur.pos;
    const op = cur.u8();
    switch (op) {
      case 0x80: { // PROTO
        const proto = cur.u8();
        if (proto > 5) throw unsupported(source, `pickle protocol ${proto} is newer than 5`);
        break;
      }
      case 0x95: cur.u64(); break; // FRAME: framing is advisory, the opcodes follow inline
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail('STOP with an unbalanced stack');
        return { value: stack[0], end: cur.pos };
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(cur.i32()); break; // BININT
      case 0x4b: stack.push(cur.u8()); break; // BININT1
      case 0x4d: stack.push(cur.u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(cur.take(cur.u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = cur.i32();
        if (n < 0) fail('negative LONG4 length');
        stack.push(decodeLong(cur.take(n)));
        break;
      }
      case 0x47: stack.push(cur.f64be()); break; // BINFLOAT
      case 0x58: stack.push(text(cur.take(cur.u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text(cur.take(cur.u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(cur.take(cur.u64()))); break; // BINUNICODE8
      case 0x55: stack.push(latin1(cur.take(cur.u8()))); break; // SHORT_BINSTRING (py2 str)
      case 0x54: { // BINSTRING
        const n = cur.i32();
        if (n < 0) fail('negative BINSTRING length');
        stack.push(latin1(cur.take(n)));
        break;
      }
      case 0x43: stack.push(cur.take(cur.u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(cur.take(cur.u32()).slice()); break; // BINBYTES
      case 0x8e: stack.push(cur.take(cur.u64()).slice()); break; // BINBYTES8
      case 0x71: memo.set(cur.u8(), top()); break; // BINPUT
      case 0x72: memo.set(cur.u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(cur.u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(cur.u32())); break; // LONG_BINGET
      case 0x74: stack.push(new PyTuple(popMark())); break; // TUPLE
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2 !== 0) fail('DICT with an odd item count');
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) d.entries.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x61: { const v = pop(); asList(top()).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); asList(top()).push(...items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); asDict(top()).entries.set(k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd item count');
        const d = asDict(top());
        for (let i = 0; i < items.length; i += 2) d.entries.set(items[i], items[i + 1]);
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x63: { // GLOBAL
        const module = cur.line();
        stack.push(hooks.findClass(module, cur.line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(hooks.findClass(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); stack.push(callFn(pop(), args)); break; } // REDUCE
      case 0x81: { const args = pop(); stack.push(callFn(pop(), args)); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) throw unsupported(source, `pickle sets state on ${describe(obj)}`);
        obj.state = state;
        break;
      }
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      default:
        throw unsupported(source, `pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at} is not supported (corrupt file, or a pickle feature a state_dict does not use)`);
    }
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyTuple) return 'a tuple';
  if (v instanceof PyDict) return `a ${v.className}`;
  if (v instanceof PyFunction) return v.qualname;
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return (v as { constructor?: { name?: string } }).constructor?.name ?? 'an object';
  return `a ${typeof v}`;
}
