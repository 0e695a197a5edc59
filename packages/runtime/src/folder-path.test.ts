import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderPath } from './folder-path.js';

describe('folderPath', () => {
  const root = mkdtempSync(join(tmpdir(), 'vmm-folder-path-'));
  const dir = join(root, 'model');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'labels.txt'), 'a\nb\n');
  writeFileSync(join(root, 'secret.txt'), 'secret');
  symlinkSync(join(root, 'secret.txt'), join(dir, 'link.txt'));
  symlinkSync(join(dir, 'labels.txt'), join(dir, 'sub', 'inner.txt'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('gives the path of a file inside the folder, links within it included', () => {
    expect(folderPath(dir, 'labels.txt', 'labels')).toMatch(/model[/\\]labels\.txt$/);
    expect(folderPath(dir, 'sub/../labels.txt', 'labels')).toMatch(/labels\.txt$/);
    expect(folderPath(dir, 'sub/inner.txt', 'labels')).toMatch(/inner\.txt$/);
  });

  it.each([
    ['../secret.txt', /leads out of the folder/],
    ['sub/../../secret.txt', /leads out of the folder/],
    ['../../../../../../etc/passwd', /leads out of the folder/],
    ['/etc/passwd', /not a relative path/],
    ['..\\secret.txt', /not a relative path/],
    ['labels.txt\0', /not a relative path/],
    ['link.txt', /link out of the folder/],
    ['.', /is a folder, not a file/],
    ['sub', /is a folder, not a file/],
    ['sub/..', /is a folder, not a file/],
  ])('refuses %j', (path, why) => {
    expect(() => folderPath(dir, path, 'vmm.json labels')).toThrow(why);
  });
});
