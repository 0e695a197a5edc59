import { createJestConfig } from '@vmm/jest-preset';

export default createJestConfig(import.meta.dirname);
