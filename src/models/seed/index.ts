/**
 * The seed multitask affect models (Deng, Chen & Shi, FG 2020) in TensorFlow.js: load a model
 * directory, preprocess faces, run members, and
 * decode/ensemble their outputs the seed's `test.py` way.
 */
export * from './constants.js';
export type { SeedArchitecture, SeedKind, SeedDims } from './architecture.js';
export { SeedModelError, ModelWeightsError, ModelManifestError } from './errors.js';
export type { SeedErrorCode, WeightProblem, ManifestIssue } from './errors.js';
export type { PerTask, WeightMap } from './types.js';
export { preprocessFaces, preprocessFace, preprocessFaceList, preprocessFacePixels, preprocessFacePixelsBatch, preprocessGeometry } from './preprocess.js';
export type { RgbFace, PreprocessOptions, PreprocessGeometry } from './preprocess.js';
export { SeedModel, disposeCnnOutput } from './model.js';
export type { CnnOutput, ForwardPath, GruImplementation, SeedModelOptions } from './model.js';
export { disposeWeights } from './weights.js';
export type { SeedWeights } from './weights.js';
export { initSeedWeights } from './init.js';
export type { InitOptions } from './init.js';
export { decodeMemberFrame, applyAuThresholds, sigmoid, softmax, argmax, vaExpectation } from './decode.js';
export type { AffectFrame, FrameLogits, MemberFrame } from './decode.js';
export { ensembleLogits, combineMembers, decideCachedFrame, readLogits } from './ensemble.js';
export type { EnsembleFrame, EnsembleOptions, MemberLogits } from './ensemble.js';
export { ManifestSchema, parseManifest, seedInputSpec, seedTaskSpec, MANIFEST_FILE, MANIFEST_FORMAT_VERSION } from './manifest.js';
export type { ModelManifest, MemberRole } from './manifest.js';
export { saveModelDir, loadModelDir } from './model-dir.js';
export type { LoadedEnsemble, LoadedMember, LoadModelDirOptions } from './model-dir.js';
export { memberUncertainty, windowUncertainty, windowSpreadOf, normalisedEntropy, topMargin } from './uncertainty.js';
export type { FrameUncertainty, WindowSpread } from './uncertainty.js';
