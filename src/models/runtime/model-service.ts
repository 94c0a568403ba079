/**
 * What a model exposes to its host: a named service that opens once (load, warm up) and then
 * answers operations. The same definition runs in the daemon's thread and in a worker thread, so
 * the two hosts cannot drift apart.
 */

/** Every operation takes one structured-clonable argument and returns a clonable result. */
export type ModelApi<Api> = { readonly [K in keyof Api]: (arg: never) => unknown };

export type OpName<Api> = keyof Api & string;
export type ArgOf<F> = F extends (arg: infer A) => unknown ? A : never;
export type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

export interface OpenModel<Info, Api extends ModelApi<Api>> {
  /** Facts the caller needs without a round trip (manifest, dimensions, engine). */
  readonly info: Info;
  readonly api: Api;
  close(): void | Promise<void>;
}

export interface ModelService<Init, Info, Api extends ModelApi<Api>> {
  /** Names the host in logs, metrics and readiness (`affect`, `face-detector`). */
  readonly name: string;
  open(init: Init): Promise<OpenModel<Info, Api>>;
}
