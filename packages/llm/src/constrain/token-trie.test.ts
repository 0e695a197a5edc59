import { describe, expect, it } from '@jest/globals';
import { advanceBytes, initialState } from './json-matcher.js';
import { ANY_OBJECT, compileSchema } from './json-schema.js';
import { tokenBytesTable } from './token-bytes.js';
import { TokenTrie } from './token-trie.js';

const bytes = (text: string) => new TextEncoder().encode(text);
// A SentencePiece-style vocabulary with byte fallback and a special token.
const vocab = [
  '<unk>',
  '<s>',
  '</s>',
  '<0x22>',
  '<0xC3>',
  '<0xA9>',
  '▁{',
  '{"',
  '"',
  'a',
  'ab',
  '▁a',
  '":',
  '}',
  'é',
  '"}',
  ' ',
  '1',
  '12',
];
const tokenizer = {
  added_tokens: [1, 2].map((id) => ({ id, content: vocab[id], special: true })),
  decoder: {
    type: 'Sequence',
    decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }],
  },
  model: {
    type: 'BPE',
    unk_token: '<unk>',
    byte_fallback: true,
    vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
  },
};

describe('token bytes', () => {
  it('reads spaces, byte-fallback tokens and UTF-8, and gives special tokens none', () => {
    const table = tokenBytesTable(tokenizer);
    expect(table[1]).toBeUndefined();
    expect(table[0]).toBeUndefined();
    expect([...(table[3] as Uint8Array)]).toEqual([0x22]);
    expect(Buffer.from(table[6] as Uint8Array).toString()).toBe(' {');
    expect([...(table[14] as Uint8Array)]).toEqual([0xc3, 0xa9]);
  });

  it('reads byte-level vocabularies through GPT-2’s table', () => {
    const table = tokenBytesTable({ decoder: { type: 'ByteLevel' }, model: { vocab: { 'Ġ{': 0, 'Ã©': 1 } } });
    expect(Buffer.from(table[0] as Uint8Array).toString()).toBe(' {');
    expect(Buffer.from(table[1] as Uint8Array).toString()).toBe('é');
  });
});

describe('token masks', () => {
  const trie = new TokenTrie(tokenBytesTable(tokenizer));
  const allowed = (schemaNode: Parameters<typeof initialState>[0], prefix: string) => {
    const mask = new Uint8Array(vocab.length);
    trie.allow(advanceBytes(initialState(schemaNode), bytes(prefix)), mask);
    return vocab.filter((_, id) => mask[id] === 1).sort();
  };

  it('allows exactly the tokens the matcher can take whole', () => {
    expect(allowed(ANY_OBJECT, '')).toEqual(['{"', '▁{', ' '].sort());
    // `"` opens a key, so `":` is a key that starts with a colon; `"}` would be a key too.
    expect(allowed(ANY_OBJECT, '{')).toEqual(['"', '"}', '":', ' ', '}', '<0x22>'].sort());
    // Inside a key, everything with bytes but a lone continuation byte (and `"}`: a key
    // cannot be followed by a brace).
    expect(allowed(ANY_OBJECT, '{"')).toEqual(
      vocab.filter((t) => !['<unk>', '<s>', '</s>', '<0xA9>', '"}'].includes(t)).sort(),
    );
  });

  it('keeps string lengths and enums', () => {
    const node = compileSchema({
      type: 'object',
      properties: { k: { type: 'string', maxLength: 1 } },
      required: ['k'],
    });
    // One character: any single-character token, or the closing quote (alone, or with what may follow it).
    expect(allowed(node, '{"k":"')).toEqual(
      ['"', '"}', '<0x22>', '<0xC3>', 'a', 'é', ' ', '1', '}', '{"'].sort(),
    );
    expect(allowed(node, '{"k":"a')).toEqual(['"', '"}', '<0x22>'].sort());
    const numbers = compileSchema({ enum: [1, 12] });
    expect(allowed(numbers, '')).toEqual(['1', '12', ' '].sort());
  });

  it('tokenizes a completion greedily, longest token first', () => {
    expect(trie.greedyCount(bytes('"}'))).toBe(1);
    expect(trie.greedyCount(bytes('ab"}'))).toBe(2);
    expect(trie.longestPrefix(bytes('12}'))).toEqual({ id: 18, length: 2 });
  });
});
