import type { Tensor } from '../tf.js';
import type { TaskName } from './constants.js';

/** TF.js weights by name (`backbone/conv1_7x7_s2/kernel`, `heads/AU/fc_0/bias`, …). */
export type WeightMap = ReadonlyMap<string, Tensor>;

/** One value per task, in the seed's task order EXPR, AU, VA. */
export type PerTask<T> = { readonly [K in TaskName]: T };
