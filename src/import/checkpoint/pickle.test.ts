import { describe, expect, it } from 'vitest';
import { CheckpointError } from './errors.js';
import { PyDict, PyFunction, PyTuple, unpickle } from './pickle.js';
import type { UnpickleHooks } from './pickle.js';

const hooks: UnpickleHooks = {
  findClass: (module, name) => new PyFunction(`${module}.${name}`, (args) => ({ called: `${module}.${name}`, args })),
  persistentLoad: (pid) => ({ pid }),
};
const load = (...bytes: (number | string)[]): unknown => {
  const out: number[] = [];
  for (const b of bytes) {
    if (typeof b === 'number') out.push(b);
    else for (const c of b) out.push(c.charCodeAt(0));
  }
  return unpickle(Uint8Array.from(out), 0, hooks, 'test.pkl').value;
};

describe('unpickle', () => {
  it('decodes integers of every width, including LONG1 beyond 2^53 as bigint', () => {
    expect(load(0x80, 2, 'J', 0xfe, 0xff, 0xff, 0xff, '.')).toBe(-2);
    expect(load(0x80, 2, 'K', 200, '.')).toBe(200);
    expect(load(0x80, 2, 'M', 0x34, 0x12, '.')).toBe(0x1234);
    expect(load(0x80, 2, 0x8a, 1, 0xff, '.')).toBe(-1);
    expect(load(0x80, 2, 0x8a, 0, '.')).toBe(0);
    expect(load(0x80, 2, 0x8a, 8, 1, 0, 0, 0, 0, 0, 0x20, 0, '.')).toBe(2n ** 53n + 1n);
    expect(load(0x80, 2, 'G', 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, '.')).toBe(Math.PI);
  });

  it('builds tuples, lists, dicts and memo references', () => {
    const v = load(0x80, 2, '(', 'K', 1, 'K', 2, 't', 'q', 0, ']', 'q', 1, 'h', 0, 'a', 0x86, '.');
    expect(v).toBeInstanceOf(PyTuple);
    const [a, b] = (v as PyTuple).items;
    expect((a as PyTuple).items).toEqual([1, 2]);
    expect(b).toEqual([a]);
    const d = load(0x80, 2, '}', '(', 0x8c, 1, 'k', 'N', 0x8c, 1, 'j', 0x88, 'u', '.');
    expect([...(d as PyDict).entries]).toEqual([['k', null], ['j', true]]);
  });

  it('calls only what findClass hands out, and passes persistent ids through', () => {
    expect(load(0x80, 2, 'c', 'mod\nfn\n', 'K', 5, 0x85, 'R', '.')).toEqual({ called: 'mod.fn', args: [5] });
    expect(load(0x80, 2, 'K', 9, 'Q', '.')).toEqual({ pid: 9 });
  });

  it.each([
    ['truncated', [0x80, 2, 'X', 10, 0, 0, 0, 'ab']],
    ['stack underflow', [0x80, 2, 0x85, '.']],
    ['missing memo', [0x80, 2, 'h', 3, '.']],
    ['unterminated GLOBAL', [0x80, 2, 'c', 'a'.repeat(600)]],
    ['unknown opcode', [0x80, 2, 0xff]],
    ['no STOP', [0x80, 2, 'N']],
    ['invalid UTF-8', [0x80, 2, 0x8c, 2, 0xc3, 0x28, '.']],
    ['pop across MARK', [0x80, 2, 'N', '(', '0', '.']],
  ] as [string, (number | string)[]][])('throws CheckpointError on %s', (_, bytes) => {
    expect(() => load(...bytes)).toThrow(CheckpointError);
  });
});
