import { describe, expect, it } from '@jest/globals';
import { contentParts, expandImages, imageRows } from './image-prompt.js';
import type { VisionLanguageSpec } from './vision-language-spec.js';

const data = new Uint8Array([1]);
const idefics3: VisionLanguageSpec = {
  kind: 'idefics3',
  image: {
    longestEdge: 2048,
    tileSize: 512,
    split: true,
    resample: 1,
    rescale: 1 / 255,
    mean: [0.5],
    std: [0.5],
  },
  imageSeqLen: 2,
  imageTokenId: 9,
  imageToken: '<image>',
  fakeToken: '<f>',
  globalToken: '<g>',
};

describe('contentParts', () => {
  it("puts Ollama's pictures before the text and OpenAI's where they sat", () => {
    expect(contentParts({ role: 'user', content: 'Hi', images: [{ data }, { data }] })).toEqual([
      { type: 'image' },
      { type: 'image' },
      { type: 'text', text: 'Hi' },
    ]);
    expect(
      contentParts({
        role: 'user',
        content: 'ab',
        images: [
          { data, at: 2 },
          { data, at: 1 },
        ],
      }),
    ).toEqual([
      { type: 'text', text: 'a' },
      { type: 'image' },
      { type: 'text', text: 'b' },
      { type: 'image' },
    ]);
    expect(contentParts({ role: 'user', content: '' })).toEqual([{ type: 'text', text: '' }]);
  });
});

describe('expandImages', () => {
  it("writes Idefics3's tiles and global view in place of each image token", () => {
    expect(imageRows(idefics3, { rows: 1, cols: 2 })).toBe(6);
    expect(expandImages(idefics3, 'A<image>B', [{ rows: 1, cols: 2 }], 'messages')).toBe(
      'A<f><row_1_col_1><image><image><f><row_1_col_2><image><image>\n\n<f><g><image><image><f>B',
    );
    expect(expandImages(idefics3, '<image>', [{ rows: 0, cols: 0 }], 'messages')).toBe(
      '<f><g><image><image><f>',
    );
  });

  it('refuses a prompt with more or fewer image places than pictures', () => {
    expect(() => expandImages(idefics3, 'A<image><image>', [{ rows: 0, cols: 0 }], 'messages')).toThrow(
      /2 image places \(<image>\) for 1 images/,
    );
  });
});
