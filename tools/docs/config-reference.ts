// The configuration reference, read off the zod schema through its JSON Schema (zod's public
// introspection): every key, its default and what it accepts. The explanations are written by hand
// in config-meanings.ts; a key without one, or an explanation of a key the schema no longer has,
// stops the generator, so the tables cannot drift from the code.
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import { cell, code, table } from './markdown.js';
import { CONFIG_MEANINGS, SINK_MEANINGS, STREAM_MEANINGS } from './config-meanings.js';

/** The part of JSON Schema that zod writes for this config. */
interface JsonSchema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly default?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly items?: JsonSchema;
  readonly pattern?: string;
  readonly format?: string;
}

export interface KeyRow {
  readonly key: string;
  readonly default: string;
  readonly accepts: string;
}

function literal(v: unknown): string {
  return code(typeof v === 'string' ? v : JSON.stringify(v));
}

function range(s: JsonSchema): string {
  // zod writes the safe-integer bounds of .int() as if they were limits of ours.
  const lo = s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER ? s.minimum : undefined;
  const hi = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
  if (lo !== undefined && hi !== undefined) return ` ${lo}–${hi}`;
  // "and": a range is one branch, and branches are joined with ", or".
  const parts = [
    lo !== undefined ? `≥ ${lo}` : s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : undefined,
    hi !== undefined ? `≤ ${hi}` : s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : undefined,
  ].filter((p) => p !== undefined);
  return parts.length > 0 ? ` ${parts.join(' and ')}` : '';
}

/** What a value may be, in words. */
export function accepts(s: JsonSchema): string {
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    // null last: "number …, or null" reads as the choice it is.
    const ordered = [...branches.filter((b) => b.type !== 'null'), ...branches.filter((b) => b.type === 'null')];
    return ordered.map(accepts).join(', or ');
  }
  if (s.const !== undefined) return literal(s.const);
  if (s.enum) return s.enum.map(literal).join(', ');
  switch (s.type) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'boolean';
    case 'integer':
      return `integer${range(s)}`;
    case 'number':
      return `number${range(s)}`;
    case 'string':
      if (s.format === 'uri') return 'URL';
      return `string${length(s)}${s.pattern !== undefined && s.pattern.length <= 40 ? ` matching ${code(s.pattern)}` : ''}`;
    case 'array':
      if (s.items && (s.items.oneOf ?? s.items.anyOf ?? []).every((b) => b.type === 'object') && (s.items.oneOf ?? s.items.anyOf)) return 'list of objects';
      return `${(s.minItems ?? 0) > 0 ? 'non-empty ' : ''}list of ${s.items ? plural(accepts(s.items)) : 'values'}`;
    case 'object':
      return 'object';
    default:
      throw new Error(`config reference: cannot describe a schema of type ${String(s.type)}`);
  }
}

function length(s: JsonSchema): string {
  const lo = s.minLength !== undefined && s.minLength > 1 ? s.minLength : undefined;
  if (lo !== undefined && s.maxLength !== undefined) return ` of ${lo}–${s.maxLength} characters`;
  if (lo !== undefined) return ` of ≥ ${lo} characters`;
  if (s.maxLength !== undefined) return ` of ≤ ${s.maxLength} characters`;
  return '';
}

function plural(what: string): string {
  return /^(string|object|integer|number|boolean)\b/.test(what) ? what.replace(/^(\w+)/, '$1s') : what;
}

function objectBranch(s: JsonSchema): JsonSchema | undefined {
  if (s.type === 'object' && s.properties) return s;
  const branches = s.anyOf ?? [];
  const objects = branches.filter((b) => b.type === 'object' && b.properties);
  return objects.length === 1 && branches.every((b) => b === objects[0] || b.type === 'null') ? objects[0] : undefined;
}

/**
 * One row per key, in schema order. A section that is always there (an object defaulting to `{}`)
 * has no row of its own; one that may be absent or null (`cluster`, a sink's `tls`) has one, and
 * then its keys.
 */
function walk(s: JsonSchema, prefix: string, required: boolean, out: KeyRow[]): void {
  const obj = objectBranch(s);
  const alwaysPresent = prefix === '' || (obj === s && JSON.stringify(s.default) === '{}');
  if (!alwaysPresent) {
    out.push({ key: prefix, default: s.default === undefined ? (required ? 'required' : '—') : literal(s.default), accepts: accepts(s) });
  }
  for (const [name, child] of Object.entries(obj?.properties ?? {})) {
    walk(child, prefix === '' ? name : `${prefix}.${name}`, obj?.required?.includes(name) ?? false, out);
  }
}

function keyRows(s: JsonSchema): KeyRow[] {
  const out: KeyRow[] = [];
  walk(s, '', false, out);
  return out;
}

function schemaJson(): JsonSchema {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'throw' }) as JsonSchema;
}

/** Meaning of every key, checked both ways against the schema. */
function explain(what: string, keys: readonly string[], meanings: Readonly<Record<string, string>>): (key: string) => string {
  const missing = keys.filter((k) => meanings[k] === undefined);
  const stale = Object.keys(meanings).filter((k) => !keys.includes(k));
  if (missing.length > 0 || stale.length > 0) {
    throw new Error(
      `${what}: ${missing.length > 0 ? `no explanation for ${missing.join(', ')}` : ''}${missing.length > 0 && stale.length > 0 ? '; ' : ''}${stale.length > 0 ? `explained but not in the schema: ${stale.join(', ')}` : ''} (edit tools/docs/config-meanings.ts)`,
    );
  }
  return (k) => meanings[k]!;
}

export function configKeysTable(): string {
  const rows = keyRows(schemaJson());
  const meaning = explain('config keys', rows.map((r) => r.key), CONFIG_MEANINGS);
  return table(['key', 'default', 'accepts', 'meaning'], rows.map((r) => [code(r.key), r.default, cell(r.accepts), cell(meaning(r.key))]));
}

export function streamKeysTable(): string {
  const items = schemaJson().properties?.streams?.items;
  if (!items) throw new Error('config reference: streams is no longer a list');
  const rows = keyRows(items);
  const meaning = explain('stream keys', rows.map((r) => r.key), STREAM_MEANINGS);
  return table(['key', 'default', 'accepts', 'meaning'], rows.map((r) => [code(r.key), r.default, cell(r.accepts), cell(meaning(r.key))]));
}

/** The sinks' keys, merged over the broker kinds (a key is one row where every kind agrees on it). */
export function sinkKeysTable(): string {
  const kinds = schemaJson().properties?.sinks?.items?.oneOf;
  if (!kinds) throw new Error('config reference: sinks is no longer a list of kinds');
  const merged: { key: string; kinds: string[]; default: string; accepts: string }[] = [];
  for (const variant of kinds) {
    const kind = variant.properties?.kind?.const;
    if (typeof kind !== 'string') throw new Error('config reference: a sink kind without a kind literal');
    for (const r of keyRows(variant)) {
      const same = merged.find((m) => m.key === r.key && (r.key === 'kind' || (m.default === r.default && m.accepts === r.accepts)));
      if (same) {
        same.kinds.push(kind);
        if (r.key === 'kind') same.accepts = `${same.accepts}, ${r.accepts}`;
      } else merged.push({ ...r, kinds: [kind] });
    }
  }
  const all = kinds.length;
  const meaning = explain('sink keys', [...new Set(merged.map((m) => m.key))], SINK_MEANINGS);
  return table(
    ['key', 'kinds', 'default', 'accepts', 'meaning'],
    merged.map((m) => [code(m.key), m.kinds.length === all ? 'all' : m.kinds.join(', '), m.default, cell(m.accepts), cell(meaning(m.key))]),
  );
}

/** For writing the meanings: every key the schema has. */
export function allKeys(): { config: string[]; stream: string[]; sink: string[] } {
  const j = schemaJson();
  const sinkKeys = new Set<string>();
  for (const v of j.properties?.sinks?.items?.oneOf ?? []) for (const r of keyRows(v)) sinkKeys.add(r.key);
  return {
    config: keyRows(j).map((r) => `${r.key}\t${r.default}\t${r.accepts}`),
    stream: keyRows(j.properties?.streams?.items ?? {}).map((r) => `${r.key}\t${r.default}\t${r.accepts}`),
    sink: [...sinkKeys],
  };
}
