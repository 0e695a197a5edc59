/** The decoding a detokenizer needs: skip special tokens, as streamed text never shows them. */
export interface TokenDecoder {
  decode(ids: readonly number[]): string;
}

const REPLACEMENT = '\uFFFD';

/**
 * Turns a growing list of token ids into text deltas without ever releasing half a UTF-8
 * character (byte-fallback tokens decode to U+FFFD until the character is complete) and with
 * the spaces a SentencePiece decoder would strip from a sequence's start. Decodes a short
 * window, not the whole text, so each step costs the same (vLLM's prefix/read offsets).
 */
export class IncrementalDetokenizer {
  private readonly ids: number[];
  private prefixOffset = 0;
  private readOffset: number;

  /** `context`: the last prompt tokens, so the first generated word keeps its leading space. */
  constructor(
    private readonly decoder: TokenDecoder,
    context: readonly number[] = [],
  ) {
    this.ids = context.slice(-5);
    this.readOffset = this.ids.length;
  }

  /** Adds one token; returns the text it completes (possibly ''). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.decoder.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = this.decoder.decode(this.ids.slice(this.prefixOffset));
    if (after.length <= before.length || after.endsWith(REPLACEMENT)) return '';
    const delta = after.slice(before.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return delta;
  }

  /** What is still held back at the end (an incomplete character becomes U+FFFD). */
  flush(): string {
    const before = this.decoder.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = this.decoder.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return after.length > before.length ? after.slice(before.length) : '';
  }
}
