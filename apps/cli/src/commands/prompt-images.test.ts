import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promptImages } from './prompt-images.js';

const dir = mkdtempSync(join(tmpdir(), 'vmm-prompt-images-'));
mkdirSync(join(dir, 'my pictures'));
for (const name of ['cat.jpg', 'dog.PNG', 'my pictures/bird.webp']) writeFileSync(join(dir, name), 'x');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('promptImages', () => {
  it.each([
    ['what is in ./cat.jpg?', 'what is in ?', ['cat.jpg']],
    [`compare ${join(dir, 'cat.jpg')} and ./dog.PNG`, 'compare and', ['cat.jpg', 'dog.PNG']],
    ['describe ./my\\ pictures/bird.webp please', 'describe please', ['my pictures/bird.webp']],
    ["describe './my pictures/bird.webp'", 'describe', ['my pictures/bird.webp']],
    ['is ./missing.jpg there?', 'is ./missing.jpg there?', []],
    ['no pictures here, just cat.jpg', 'no pictures here, just cat.jpg', []],
    ['a text file ./notes.txt', 'a text file ./notes.txt', []],
  ])('%s', (prompt, rest, files) => {
    const found = promptImages(prompt, dir);
    expect(found.prompt).toBe(rest);
    expect(found.paths).toEqual(files.map((file) => join(dir, file)));
  });
});
