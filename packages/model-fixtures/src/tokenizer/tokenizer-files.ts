import { type BpeModel, METASPACE, SPECIAL_TOKENS } from './train-bpe.js';

/** TinyLlama-1.1B-Chat-v1.0's chat template (Zephyr style), verbatim. */
export const CHAT_TEMPLATE =
  "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n" +
  "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n" +
  "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n" +
  "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

/** A special token of tokenizer.json's `added_tokens`, as Hugging Face writes them. */
export const addedToken = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** `tokenizer.json` in the Hugging Face tokenizers format, laid out as Llama's legacy tokenizer. */
export function tokenizerJson(model: BpeModel): object {
  const [unk, bos] = SPECIAL_TOKENS;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((token, id) => addedToken(id, token)),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: METASPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: METASPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: bos, type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [bos]: { id: bos, ids: [1], tokens: [bos] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: METASPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(model.tokens.map((token, id) => [token, id])),
      merges: sentencePieceMerges(model).map(([left, right]) => `${left} ${right}`),
    },
  };
}

/**
 * Every way to build each learned piece from two pieces, ranked by the piece's id: the merge
 * list Hugging Face's converter writes for a SentencePiece BPE model such as Llama's. With it,
 * BPE gives what SentencePiece's highest-score-first merging gives (llama.cpp's tokenizer on
 * the GGUF copies, where a piece's score is minus its id); with the learned merges alone, a
 * piece that `trainBpe` filled in from other pieces could be reachable by one and not the other.
 */
export function sentencePieceMerges(model: BpeModel): [string, string][] {
  const ids = new Map(model.tokens.map((token, id) => [token, id]));
  const firstLearned = model.tokens.length - model.merges.length;
  const merges: [string, string][] = [];
  model.tokens.slice(firstLearned).forEach((piece) => {
    const chars = [...piece];
    for (let k = 1; k < chars.length; k += 1) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      if (ids.has(left) && ids.has(right)) merges.push([left, right]);
    }
  });
  return merges;
}

export function tokenizerConfigJson(maxLength: number): object {
  const [unk, bos, eos] = SPECIAL_TOKENS;
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(
      SPECIAL_TOKENS.map((token, id) => {
        const { id: _id, ...rest } = addedToken(id, token);
        return [String(id), rest];
      }),
    ),
    bos_token: bos,
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: eos,
    legacy: false,
    model_max_length: maxLength,
    pad_token: eos,
    padding_side: 'left',
    sp_model_kwargs: {},
    tokenizer_class: 'LlamaTokenizer',
    unk_token: unk,
    use_default_system_prompt: false,
  };
}

export function specialTokensMapJson(): object {
  const [unk, bos, eos] = SPECIAL_TOKENS;
  const token = (content: string) => ({
    content,
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
  });
  return { bos_token: token(bos), eos_token: token(eos), pad_token: token(eos), unk_token: token(unk) };
}
