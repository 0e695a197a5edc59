import { Tokenizer } from '@huggingface/tokenizers';
import { ErrorCode, VmmError } from '@vmm/errors';
import { modelTextLimits, readFolderJson } from '@vmm/runtime';

type Json = Record<string, unknown>;

/**
 * The encoder's tokenizer with the special tokens its post-processor wraps a text in
 * ([CLS] … [SEP] for BERT, <s> … </s> for RoBERTa): token-id inputs get the same wrapping,
 * and truncation keeps it.
 */
export class EmbeddingTokenizer {
  private readonly tokenizer: Tokenizer;
  readonly prefix: number[];
  readonly suffix: number[];
  readonly vocabSize: number;
  readonly padId: number;

  private constructor(json: Json, config: Json) {
    this.tokenizer = new Tokenizer(json, config);
    const { prefix, suffix } = specialWrapping(json.post_processor);
    this.prefix = prefix;
    this.suffix = suffix;
    this.vocabSize = this.tokenizer.get_vocab(true).size;
    const pad =
      typeof config.pad_token === 'string' ? this.tokenizer.token_to_id(config.pad_token) : undefined;
    this.padId = pad ?? 0;
  }

  static load(dir: string): EmbeddingTokenizer {
    const json = readFolderJson(dir, 'tokenizer.json', modelTextLimits.tokenizerFileBytes);
    if (!json) throw new VmmError(ErrorCode.FailedPrecondition, 'the model has no tokenizer.json');
    return new EmbeddingTokenizer(json, readFolderJson(dir, 'tokenizer_config.json') ?? {});
  }

  /** A text's ids with the special tokens, as the model was trained to read them. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: true }).ids;
  }

  /** Token ids a client tokenized itself (OpenAI's input as ids), wrapped like a text. */
  wrap(ids: readonly number[]): number[] {
    return [...this.prefix, ...ids, ...this.suffix];
  }

  /**
   * Fits wrapped ids into `max` tokens: cuts the content and keeps the wrapping when
   * `truncate`, refuses otherwise (Ollama's `truncate: false`).
   */
  fit(ids: number[], max: number, truncate: boolean, field: string): number[] {
    if (ids.length <= max) return ids;
    if (!truncate) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `${field} is ${ids.length} tokens; the model takes at most ${max} (set truncate to cut it)`,
        { field },
      );
    }
    const keep = Math.max(0, max - this.prefix.length - this.suffix.length);
    return [...ids.slice(0, this.prefix.length + keep), ...ids.slice(ids.length - this.suffix.length)];
  }
}

/** The ids a single-sequence post-processor puts before and after the text. */
function specialWrapping(processor: unknown): { prefix: number[]; suffix: number[] } {
  const none = { prefix: [], suffix: [] };
  if (typeof processor !== 'object' || processor === null) return none;
  const p = processor as Json;
  if (p.type === 'BertProcessing' || p.type === 'RobertaProcessing') {
    const id = (pair: unknown) => (Array.isArray(pair) && typeof pair[1] === 'number' ? [pair[1]] : []);
    return { prefix: id(p.cls), suffix: id(p.sep) };
  }
  if (p.type === 'Sequence' && Array.isArray(p.processors)) {
    for (const inner of p.processors) {
      const found = specialWrapping(inner);
      if (found.prefix.length + found.suffix.length > 0) return found;
    }
    return none;
  }
  if (p.type !== 'TemplateProcessing' || !Array.isArray(p.single)) return none;
  const specials = (p.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
  const prefix: number[] = [];
  const suffix: number[] = [];
  let seen = false;
  for (const piece of p.single as Json[]) {
    if ('Sequence' in piece) seen = true;
    const special = piece.SpecialToken as { id?: string } | undefined;
    if (special?.id !== undefined) (seen ? suffix : prefix).push(...(specials[special.id]?.ids ?? []));
  }
  return { prefix, suffix };
}
