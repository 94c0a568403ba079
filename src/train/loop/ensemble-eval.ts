/**
 * The final evaluation of an ensemble on the validation sets: AU thresholds searched on the
 * ensemble-mean probabilities (spec §6.2 with its last-model bug fixed), EXPR by mean softmax,
 * VA by the mean of the members' expectations (the `test.py` recipe).
 */
import { evaluateValidation, searchAuThresholdsOn } from '../eval/validation.js';
import { namedScores, validationInput, type TaskOutputs } from './validate.js';

export interface EnsembleEval {
  readonly thresholds: number[];
  readonly metrics: Record<string, number>;
}

/** `members[m]` = the outputs of member m, in the same task and face order for every member. */
export function evaluateEnsemble(members: readonly (readonly TaskOutputs[])[]): EnsembleEval {
  const input = validationInput(members);
  const thresholds = input.AU !== undefined ? [...searchAuThresholdsOn(input.AU).thresholds] : new Array<number>(8).fill(0.5);
  const metrics = namedScores(evaluateValidation(input, { auThresholds: thresholds }));
  if (input.AU !== undefined) metrics['au_score_thr05'] = evaluateValidation({ AU: input.AU }).au!.score;
  return { thresholds, metrics };
}
