import type { PerTask } from './types.js';

/** One frame's cached CNN output for one member: per task the head feature and the logits. */
export interface MemberFrameCache {
  readonly features: PerTask<Float32Array>;
  readonly logits: PerTask<Float32Array>;
}

/** One frame, all members (index = member index in the ensemble). */
export type FrameCache = readonly MemberFrameCache[];
