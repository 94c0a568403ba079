import { resourceLimits, threadId } from 'node:worker_threads';
import type { ModelService } from '../../../src/models/runtime/model-service.js';

/** A model-free service for the host tests: real worker threads without model load times. */
export const echoService: ModelService<{ readonly failOpen?: boolean }, { readonly pid: number; readonly startedAt: number }, EchoApi> = {
  name: 'echo',
  async open(init) {
    if (init.failOpen) throw Object.assign(new Error('cannot open (asked to)'), { code: 'VA_ERR_MODEL_LOAD' });
    return {
      info: { pid: process.pid, startedAt: Date.now() },
      api: {
        echo: (x) => x,
        fail: (message) => {
          throw new Error(message);
        },
        // An uncaught exception outside any call: the thread dies the way a native abort would.
        crash: () => {
          setImmediate(() => {
            throw new Error('worker blew up');
          });
          return new Promise<never>(() => undefined);
        },
        // The heap limits the thread runs under.
        limits: () => resourceLimits.maxOldGenerationSizeMb ?? 0,
        // Holds ever more memory until the worker's heap limit ends the thread.
        hog: () => {
          const held: number[][] = [];
          for (;;) held.push(Array.from({ length: 1 << 16 }, (_, i) => i + held.length));
        },
        // Answers with the worker's thread id, so tests can tell which worker served a call.
        slow: (ms) => new Promise<number>((resolve) => setTimeout(() => resolve(threadId), ms)),
      },
      close: () => undefined,
    };
  },
};

export type EchoApi = {
  echo(x: number[]): number[];
  fail(message: string): never;
  crash(arg: null): Promise<never>;
  slow(ms: number): Promise<number>;
  hog(arg: null): never;
  limits(arg: null): number;
};
