// The public surface of the generated code. Everything under gen/ is written by
// `npm run proto:generate` from proto/vmm/v1 and never edited by hand.
export * from './gen/vmm/v1/common.js';
export * from './gen/vmm/v1/inference.js';
export * from './gen/vmm/v1/models.js';
export { protoRoot, protoFiles } from './proto-files.js';
