export {
  parseModelName,
  canonicalModelName,
  tryCanonicalModelName,
  hubReference,
  DEFAULT_TAG,
  type ModelName,
  type HubReference,
} from './model-name.js';
export {
  addParameter,
  parametersFromJson,
  parametersText,
  type ModelParameters,
} from './model-parameters.js';
export { parseModelfile, formatModelfile, type ModelRecipe } from './modelfile.js';
export {
  ModelStore,
  checkDigest,
  checkStoredPath,
  DIGEST,
  type ModelManifest,
  type ResolvedModel,
  type StoredFile,
} from './model-store.js';
export {
  onnxVariantOf,
  variantTags,
  cpuVariantOrder,
  visionCompanions,
  isVisionLanguageExport,
  type OnnxVariant,
} from './onnx-variant.js';
export {
  defaultHubTimeouts,
  HubPuller,
  type HubOptions,
  type HubTimeouts,
  type PullProgress,
} from './hub-pull.js';
export { PullCoordinator } from './pull-coordinator.js';
export {
  checkLabelCount,
  checkLabels,
  checkLabelsFileSize,
  checkModelText,
  modelTextLimits,
} from './model-limits.js';
