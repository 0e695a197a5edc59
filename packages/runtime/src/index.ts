export {
  type Backend,
  backends,
  parseBackend,
  executionProvidersFor,
  type ExecutionProvider,
} from './backend.js';
export { type SessionOptions, type ValueInfo, type GraphOptimizationLevel } from './session-options.js';
export { type ModelSession, type BoundSession, type BoundMemory } from './model-session.js';
export { createBoundSession, boundSessionsUnavailable } from './backends/ort-bound-session.js';
export {
  createOrtSession,
  createModelSession,
  probeBackend,
  cudaProviderInstalled,
  CUDA_INSTALL_HINT,
} from './backends/ort-session.js';
export { OPENVINO_INSTALL_HINT } from './backends/openvino-session.js';
export {
  type TensorData,
  type TensorType,
  type TensorArray,
  elementCount,
  float32Tensor,
  int64Tensor,
  boolTensor,
  emptyTensor,
  tensorArray,
  ELEMENT_BYTES,
} from './tensor-data.js';
export { nsSince } from './elapsed.js';
export { halfToFloat, floatToHalf, halfValues } from './half-float.js';
export { readOnnxMetadata, type OnnxFileInfo } from './onnx-metadata.js';
export { readOnnxGraph, withGraphOutputs, type OnnxGraph, type OnnxNode } from './onnx-graph.js';
export { editOnnxGraph, type EditedNode, type GraphEdit, type NewNode } from './onnx-graph-edit.js';
export { validateModelName, modelDir } from './model-name.js';
export {
  inspectModelFolder,
  inspectModelDir,
  listModelFolders,
  selectModelFile,
  visionCompanions,
  visionLanguageModelTypes,
  type ModelFolder,
  type ModelFile,
} from './model-folder.js';
export {
  variantTags,
  checkLabelCount,
  checkLabels,
  checkLabelsFileSize,
  modelTextLimits,
  type OnnxVariant,
} from '@vmm/model-store';
export { vmmManifestSchema, MODEL_TASKS, type VmmManifest, type ModelTask } from './vmm-manifest.js';
export { ThreadHost, threadEntry, type ThreadCallOptions, type ThreadWatch } from './thread/thread-host.js';
export { nativeRun } from './thread/native-runs.js';
export {
  serveThread,
  yieldToEventLoop,
  transferring,
  type ThreadHandler,
  type CallContext,
} from './thread/serve-thread.js';
export { STREAM_WINDOW } from './thread/protocol.js';
export { readFolderJson } from './folder-json.js';
export { readChatTemplate } from './chat-template-file.js';
export { folderPath } from './folder-path.js';
export { onnxExternalLocations } from './onnx-external-data.js';
