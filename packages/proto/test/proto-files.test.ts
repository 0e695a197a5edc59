import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { protoFiles, protoRoot } from '../src/index.js';

describe('protoFiles', () => {
  it('lists exactly the .proto files of the vmm.v1 contract', () => {
    const onDisk = readdirSync(join(protoRoot, 'vmm/v1'))
      .filter((name) => name.endsWith('.proto'))
      .map((name) => `vmm/v1/${name}`)
      .sort();
    expect([...protoFiles].sort()).toEqual(onDisk);
    for (const file of protoFiles) expect(existsSync(join(protoRoot, file))).toBe(true);
  });
});
