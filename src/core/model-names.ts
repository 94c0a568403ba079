import { homedir } from 'node:os';
import path from 'node:path';

/** A model's name in the store and the catalogue (also what tells `--model NAME` from a path). */
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The default model store: XDG's data directory, as Linux users expect. */
export function defaultStoreDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME ?? homedir(), '.local', 'share');
  return path.join(base, 'affect-daemon', 'models');
}

/** A bare name (no separator, no leading dot) may name a model of the store rather than a directory. */
export const isBareModelName = (ref: string): boolean => MODEL_NAME.test(ref) && !ref.startsWith('.') && !ref.includes('/');
