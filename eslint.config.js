import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Architecture rules (ARCHITECTURE.md "Layout", STYLE.md habits 1, 4, 6) are enforced here so
// that a wrong import fails `npm test`, not just a review.
const appPackages = ['@vmm/gateway', '@vmm/worker', '@vmm/batch-runner', '@vmm/cli', '@vmm/dashboard'];
const noDeepImports = {
  group: ['@vmm/*/*'],
  message: 'Import a package through its public src/index.ts only.',
};
const ortOnlyInAdapter = {
  name: 'onnxruntime-node',
  message: 'Only the runtime adapter (packages/runtime/src/backends) talks to ONNX Runtime.',
};
const openvinoOnlyInAdapter = {
  name: 'openvino-node',
  message: 'Only the runtime adapter (packages/runtime/src/backends) talks to OpenVINO.',
};

/** The import bans every file has, plus `extra` for a part of the tree. */
function restrictImports(extra = [], { runtimes = true } = {}) {
  const runtimePaths = runtimes ? [ortOnlyInAdapter, openvinoOnlyInAdapter] : [];
  return {
    'no-restricted-imports': ['error', { paths: [...runtimePaths, ...extra], patterns: [noDeepImports] }],
  };
}

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      '**/.turbo/**',
      'packages/proto/src/gen/**',
      'packages/api-client/src/gen/**',
      'models/**',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `import { type X }` still loads the module under verbatimModuleSyntax; a thread entry
      // imported that way would run in the wrong thread.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: "Only an app's config module reads the environment (STYLE.md habit 4).",
        },
      ],
      'no-restricted-imports': [
        'error',
        { paths: [ortOnlyInAdapter, openvinoOnlyInAdapter], patterns: [noDeepImports] },
      ],
    },
  },
  {
    files: ['packages/**'],
    rules: restrictImports(appPackages.map((name) => ({ name, message: 'A package never imports an app.' }))),
  },
  {
    files: ['apps/gateway/src/**', 'apps/batch-runner/src/**', 'apps/cli/src/**', 'apps/dashboard/src/**'],
    rules: restrictImports(
      ['@vmm/runtime', '@vmm/llm', '@vmm/vision', 'sharp'].map((name) => ({
        name,
        message: 'This app speaks gRPC to workers; it never runs models itself.',
      })),
    ),
  },
  {
    // `vmm detect --out` draws the boxes onto the user's image: image files, not models.
    files: ['apps/cli/src/commands/annotate.ts'],
    rules: restrictImports(
      ['@vmm/runtime', '@vmm/llm', '@vmm/vision'].map((name) => ({
        name,
        message: 'The CLI speaks HTTP to the gateway; it never runs models itself.',
      })),
    ),
  },
  {
    // The one adapter over each inference runtime, and the tools that compare against the
    // runtime directly (fixtures' own checks, benchmarks).
    files: ['packages/runtime/src/backends/**', 'packages/model-fixtures/**', 'bench/**'],
    rules: restrictImports([], { runtimes: false }),
  },
  {
    // Config modules read the environment once; scripts and CLIs are entry points; tests pass
    // an environment to the processes they start.
    files: [
      '**/src/config.ts',
      '**/src/environment.ts',
      'scripts/**',
      '**/bin/**',
      'bench/**',
      'packages/test-support/**',
      '**/test/**',
      '**/*.test.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // The dashboard's pages run in the browser.
    files: ['apps/dashboard/src/**'],
    languageOptions: { globals: globals.browser },
  },
  prettier,
);
