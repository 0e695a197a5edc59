import { corpus } from '../tokenizer/corpus.js';

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/**
 * A WordPiece vocabulary learned from the fixture corpus the simple way: the special tokens,
 * every character alone and as a `##` continuation, then the corpus's words (lowercased, as
 * BertNormalizer leaves them) by frequency and their frequent `##` endings, up to `size`.
 */
export function wordPieceVocab(size: number): string[] {
  const text = corpus.toLowerCase();
  const words = text.match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
  const chars = new Set<string>();
  for (const char of 'abcdefghijklmnopqrstuvwxyz0123456789.,!?;:\'"()[]{}-_/\\@#$%^&*+=<>|~`')
    chars.add(char);
  for (const word of words) for (const char of word) chars.add(char);
  const vocab: string[] = [...BERT_SPECIAL_TOKENS];
  const seen = new Set<string>(vocab);
  const add = (token: string) => {
    if (vocab.length < size && !seen.has(token)) {
      seen.add(token);
      vocab.push(token);
    }
  };
  for (const char of [...chars].sort()) add(char);
  for (const char of [...chars].sort()) if (/[a-z0-9]/.test(char)) add(`##${char}`);
  const counts = new Map<string, number>();
  for (const word of words) if (word.length > 1) counts.set(word, (counts.get(word) ?? 0) + 1);
  const endings = new Map<string, number>();
  for (const [word, count] of counts) {
    for (let cut = 1; cut < word.length - 1; cut += 1) {
      const ending = word.slice(cut);
      if (ending.length >= 2) endings.set(ending, (endings.get(ending) ?? 0) + count);
    }
  }
  const byCount = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([token]) => token);
  const wordList = byCount(counts);
  const endingList = byCount(endings).filter((ending) => (endings.get(ending) ?? 0) >= 3);
  // Alternate words and endings so both kinds fit whatever the size.
  for (let i = 0; vocab.length < size && (i < wordList.length || i < endingList.length); i += 1) {
    if (i < wordList.length) add(wordList[i] as string);
    if (i < endingList.length) add(`##${endingList[i] as string}`);
  }
  return vocab;
}
