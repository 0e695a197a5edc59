import { describe, expect, it } from '@jest/globals';
import { corpus } from './corpus.js';
import { METASPACE, normalize, trainBpe } from './train-bpe.js';

describe('trainBpe', () => {
  it('lays out specials, then the 256 byte tokens, then characters and merges', () => {
    const model = trainBpe(corpus, 600);
    expect(model.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(model.tokens[3]).toBe('<0x00>');
    expect(model.tokens[258]).toBe('<0xFF>');
    expect(model.tokens).toHaveLength(600);
    expect(new Set(model.tokens).size).toBe(600);
  });

  it('learns merges whose parts exist before them and whose result is a token', () => {
    const model = trainBpe(corpus, 800);
    const seen = new Set(model.tokens.slice(0, model.tokens.length - model.merges.length));
    for (const [left, right] of model.merges) {
      expect(seen.has(left) && seen.has(right)).toBe(true);
      seen.add(left + right);
    }
    expect(model.tokens.slice(-model.merges.length)).toEqual(model.merges.map(([l, r]) => l + r));
  });

  it('never puts ▁ inside a piece, only at its start', () => {
    for (const token of trainBpe(corpus, 32000).tokens) {
      expect(token.slice(1).includes(METASPACE)).toBe(false);
    }
  });

  it('learns the most frequent words first', () => {
    const firstWords = trainBpe(corpus, 450).tokens.filter(
      (token) => token.startsWith(METASPACE) && token.length > 2,
    );
    expect(firstWords).toEqual(expect.arrayContaining([`${METASPACE}the`, `${METASPACE}and`]));
  });

  it('is deterministic', () => {
    expect(trainBpe(corpus, 2000)).toEqual(trainBpe(corpus, 2000));
  });

  it('says so when the corpus cannot fill the vocabulary', () => {
    expect(() => trainBpe('ab ab', 10_000)).toThrow(/cannot build 10000 tokens/);
  });

  it('normalizes as Llama does', () => {
    expect(normalize('Hello world')).toBe(`${METASPACE}Hello${METASPACE}world`);
  });
});
