import { EVENT_TYPES } from '../core/records.js';

/** A message from the event socket that has the shape of an event: a JSON object with a known type. */
export type EventMessage = Record<string, unknown> & { readonly type: string };

/** Parses one socket message; undefined for anything that is not a JSON object with a known `type`. */
export function parseEventMessage(text: string): EventMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const type = (v as { type?: unknown }).type;
  return typeof type === 'string' && (EVENT_TYPES as readonly string[]).includes(type) ? (v as EventMessage) : undefined;
}

/** One line, whatever the server put in it: JSON.stringify escapes every control character. */
export function jsonLine(e: EventMessage): string {
  return JSON.stringify(e);
}

// A value shown in a readable line: control characters (terminal escapes, newlines) from the
// server become visible escapes, and a long value is cut.
function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === undefined ? '-' : JSON.stringify(v) ?? '-';
  const safe = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > 80 ? `${safe.slice(0, 79)}…` : safe;
}

function clock(ts: unknown): string {
  const d = typeof ts === 'string' ? new Date(ts) : new Date(Number.NaN);
  return Number.isNaN(d.getTime()) ? '--:--:--.---' : d.toISOString().slice(11, 23);
}

function num(v: unknown, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

function field<T>(o: unknown, key: string): T | undefined {
  return typeof o === 'object' && o !== null ? ((o as Record<string, unknown>)[key] as T | undefined) : undefined;
}

/** A line for a person at a terminal: UTC time, stream, type, then what the type carries. */
export function prettyLine(e: EventMessage): string {
  const head = `${clock(e.ts)} ${shown(e.streamId)} ${e.type}`;
  switch (e.type) {
    case 'stream': {
      const error = field<unknown>(e, 'error');
      return `${head} ${shown(e.state)}${error !== undefined ? ` ${shown(field(error, 'code'))}: ${shown(field(error, 'message'))}` : ''}`;
    }
    case 'track':
      return `${head} track=${shown(e.trackId)} ${shown(e.state)} frame=${shown(e.frame)}`;
    case 'faces': {
      const faces = Array.isArray(e.faces) ? e.faces : undefined;
      const tracks = faces?.map((f) => shown(field(f, 'trackId'))).join(',');
      return `${head} frame=${shown(e.frame)} faces=${faces ? faces.length : shown(e.faces)}${tracks ? ` tracks=${tracks}` : ''}`;
    }
    default: {
      // affect
      const expr = field<unknown>(e, 'expr');
      const label = field<unknown>(expr, 'label');
      const probs = field<unknown>(expr, 'probs');
      const p = typeof label === 'string' ? field<unknown>(probs, label) : undefined;
      const va = field<unknown>(e, 'va');
      const active = field<unknown>(field(e, 'au'), 'active');
      const aus = typeof active === 'object' && active !== null ? Object.entries(active).filter(([, on]) => on === true).map(([k]) => k) : undefined;
      const parts = [
        `track=${shown(e.trackId)} frame=${shown(e.frame)}`,
        ...(expr !== undefined ? [`expr=${shown(label)} (${num(p, 2)})`] : []),
        ...(va !== undefined ? [`valence=${num(field(va, 'valence'), 2)} arousal=${num(field(va, 'arousal'), 2)}`] : []),
        ...(aus !== undefined ? [`au=${shown(aus.join(',') || 'none')}`] : []),
        `latency=${num(e.latencyMs, 0)}ms`,
      ];
      return `${head} ${parts.join(' ')}`;
    }
  }
}
