/** Evaluation for `daemon train`: the ABAW metrics as coded, the AU threshold search, ensembling. */
export * from './metrics.js';
export { precisionRecallCurve, breakEvenThreshold, searchAuThresholds, type AuThresholdSearch } from './au-thresholds.js';
export { ensembleOutputs, sigmoid, softmaxRows, vaExpectation, type MemberLogits, type EnsembleOutputs } from './ensemble-outputs.js';
export { evaluateValidation, searchAuThresholdsOn, type TaskOutputs, type ValidationInput, type ValidationScores } from './validation.js';
