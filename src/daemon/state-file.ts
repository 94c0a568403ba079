import type { Config, StreamConfig } from '../config/schema.js';
import { StreamStore } from '../supervisor/stream-store.js';
import { restorePlan } from '../supervisor/stream-supervisor.js';

/**
 * The state file's streams, read and checked before anything starts: a state file that cannot be
 * read or written back, or that lists more streams than may run, is a configuration error.
 */
export function readStateFile(config: Config): { readonly store?: StreamStore; readonly persisted: readonly StreamConfig[] } {
  if (config.persistence.file === null) return { persisted: [] };
  const store = new StreamStore(config.persistence.file);
  const persisted = store.load();
  restorePlan(config, config.streams, persisted, store.file);
  return { store, persisted };
}
