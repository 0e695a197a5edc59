import { fileURLToPath } from 'node:url';

// The .proto sources, for server reflection and tools such as grpcurl, which need the
// descriptors rather than the generated TypeScript. Resolved from this file so it works
// from src/ (tests) and dist/ alike: both sit two levels below the repository root.
export const protoRoot = fileURLToPath(new URL('../../../proto', import.meta.url));

export const protoFiles = ['vmm/v1/common.proto', 'vmm/v1/inference.proto', 'vmm/v1/models.proto'] as const;
