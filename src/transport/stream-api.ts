import type { StreamSupervisor } from '../supervisor/stream-supervisor.js';

/** What stream commands (HTTP API, broker control topics) need of the supervisor: a seam unit tests can fill. */
export type StreamApi = Pick<StreamSupervisor, 'list' | 'get' | 'has' | 'add' | 'remove' | 'restart' | 'vetApiUrl'>;
