/** A byte-fallback BPE vocabulary in SentencePiece/Llama conventions. */
export interface BpeModel {
  /** Token strings by id: specials, then the 256 byte tokens, then characters, then merges. */
  tokens: string[];
  /** Merges by rank (lowest first), each as its two parts. */
  merges: [string, string][];
}

export const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>'] as const;
export const METASPACE = '\u2581';

const byteToken = (byte: number) => `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;

/** Llama's normalizer: prepend ▁, turn spaces into ▁. */
export function normalize(text: string): string {
  return METASPACE + text.replaceAll(' ', METASPACE);
}

/**
 * Learns merges from `text` until the vocabulary holds `vocabSize` tokens or no pair occurs
 * twice, then fills any remaining slots with merges of existing tokens (in id order), so a
 * preset can have Llama's 32000 tokens without a large corpus. Deterministic: ties go to the
 * lexicographically smaller pair.
 */
export function trainBpe(text: string, vocabSize: number): BpeModel {
  const tokens: string[] = [...SPECIAL_TOKENS];
  for (let byte = 0; byte < 256; byte += 1) tokens.push(byteToken(byte));

  // Words start at each ▁ (spaces) or line break; newlines themselves stay byte tokens.
  const wordCounts = new Map<string, number>();
  // Special tokens are split out before BPE, as tokenizers does: never learn them as text.
  const plain = SPECIAL_TOKENS.reduce((rest, special) => rest.replaceAll(special, '\n'), text);
  for (const line of plain.split('\n')) {
    if (line.length === 0) continue;
    for (const word of normalize(line).split(new RegExp(`(?=${METASPACE})`, 'u'))) {
      if (word.length > 0) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
  }
  const charCounts = new Map<string, number>();
  for (const [word, count] of wordCounts) {
    for (const char of word) charCounts.set(char, (charCounts.get(char) ?? 0) + count);
  }
  const alphabet = [...charCounts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([char]) => char);
  tokens.push(...alphabet);
  const known = new Set(tokens);

  const words = [...wordCounts.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([word, count]) => ({ symbols: [...word], count }));
  const merges: [string, string][] = [];
  // Pairs whose concatenation is already a token (e.g. "<0x0A>" spelt out) would give one
  // string two ids; they are never merged.
  const banned = new Set<string>();
  while (tokens.length < vocabSize) {
    const pairCounts = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i += 1) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    }
    let best: string | undefined;
    let bestCount = 1;
    for (const [key, count] of pairCounts) {
      if (banned.has(key)) continue;
      if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === undefined) break;
    const [left, right] = best.split(' ') as [string, string];
    const merged = left + right;
    if (known.has(merged)) {
      banned.add(best);
      continue;
    }
    merges.push([left, right]);
    tokens.push(merged);
    known.add(merged);
    for (const word of words) {
      const next: string[] = [];
      for (let i = 0; i < word.symbols.length; i += 1) {
        if (word.symbols[i] === left && word.symbols[i + 1] === right) {
          next.push(merged);
          i += 1;
        } else {
          next.push(word.symbols[i] as string);
        }
      }
      word.symbols = next;
    }
  }
  fillMerges(tokens, merges, known, vocabSize);
  return { tokens, merges };
}

function fillMerges(
  tokens: string[],
  merges: [string, string][],
  known: Set<string>,
  vocabSize: number,
): void {
  const firstLearned = SPECIAL_TOKENS.length + 256;
  const pieces = tokens.slice(firstLearned);
  const suffixes = pieces.filter((token) => !token.startsWith(METASPACE));
  for (const left of pieces) {
    for (const right of suffixes) {
      if (tokens.length >= vocabSize) return;
      const merged = left + right;
      if (known.has(merged) || [...merged].length > 16) continue;
      merges.push([left, right]);
      tokens.push(merged);
      known.add(merged);
    }
  }
  if (tokens.length < vocabSize) {
    throw new RangeError(`cannot build ${vocabSize} tokens from this corpus (reached ${tokens.length})`);
  }
}
