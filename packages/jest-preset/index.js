import { fileURLToPath } from 'node:url';

// Shared jest configuration. Every VMM package is native ESM, so tests run on jest's ESM
// loader (see bin/vmm-jest.js) and TypeScript is stripped by swc: type-checking is the
// `typecheck` task's job, which keeps test start-up fast on two cores.

/** @param {string} rootDir @returns {import('jest').Config} */
export function createJestConfig(rootDir) {
  return {
    rootDir,
    testEnvironment: fileURLToPath(new URL('./environment.js', import.meta.url)),
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
          module: { type: 'es6' },
          sourceMaps: 'inline',
        },
      ],
    },
    // Sources import siblings as `./x.js` (NodeNext); under jest those are the `.ts` files.
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    // Two cores in CI: turbo already runs packages side by side.
    maxWorkers: 1,
    testTimeout: 30_000,
  };
}

export default createJestConfig;
