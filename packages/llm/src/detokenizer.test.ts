import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { IncrementalDetokenizer } from './detokenizer.js';
import { LlmTokenizer } from './llm-tokenizer.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-detok-'));
let tokenizer: LlmTokenizer;

beforeAll(() => {
  writeLlamaFolder(join(root, 'tiny'), { variants: [] });
  tokenizer = LlmTokenizer.load(join(root, 'tiny'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function stream(text: string, contextText = 'Hello') {
  const context = tokenizer.encode(contextText, true);
  const ids = tokenizer.encode(text, false);
  const detokenizer = new IncrementalDetokenizer(tokenizer, context);
  const deltas = ids.map((id) => detokenizer.push(id));
  return { deltas, rest: detokenizer.flush(), ids };
}

describe('IncrementalDetokenizer', () => {
  it.each([
    'the people of the town',
    'naïve café — 東京 ✓ 🙂',
    'a\nb\n\nc  d',
    'Once upon a time there was a little town by the sea.',
  ])('streams %p exactly, with the leading space of a continuation', (text) => {
    const { deltas, rest } = stream(text);
    expect(deltas.join('') + rest).toBe(` ${text}`);
  });

  it('never releases half a character: multi-byte tokens wait for their last byte', () => {
    const { deltas, ids } = stream('東');
    // 東 is three byte-fallback tokens: nothing, nothing, then the character.
    expect(ids).toHaveLength(4);
    expect(deltas.slice(-3)).toEqual(['', '', '東']);
    for (const delta of deltas) expect(delta.includes('\uFFFD')).toBe(false);
  });

  it('streams a continuation that starts with a line break', () => {
    const { deltas, rest } = stream('\nHi', 'x');
    expect(deltas.join('') + rest).toBe(' \nHi');
  });
});
