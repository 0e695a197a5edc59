import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { writeOnnxModel } from '../onnx/write-onnx-model.js';
import { Prng } from '../prng.js';
import { addBertEncoder, type BertShape } from './bert-graph.js';
import { BERT_SPECIAL_TOKENS, wordPieceVocab } from './wordpiece-vocab.js';

export type BertPreset = 'mini' | 'minilm';

/** `mini`: fast tests; `minilm`: all-MiniLM-L6-v2's shape (384 wide, 6 layers) on a smaller vocabulary. */
export const bertPresets: Readonly<Record<BertPreset, BertShape>> = {
  mini: {
    vocabSize: 1000,
    hidden: 64,
    layers: 2,
    heads: 4,
    intermediate: 128,
    maxPositions: 512,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
  },
  minilm: {
    vocabSize: 2000,
    hidden: 384,
    layers: 6,
    heads: 12,
    intermediate: 1536,
    maxPositions: 512,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
  },
};

export interface BertFolderOptions {
  preset?: BertPreset;
  seed?: number;
  /** sentence-transformers pooling: mean of the tokens (MiniLM, mpnet) or the [CLS] token (bge). */
  pooling?: 'mean' | 'cls';
  /** The longest input in tokens (sentence_bert_config.json max_seq_length). */
  maxSeqLength?: number;
}

const json = (path: string, value: unknown) => writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);

/**
 * Writes an embedding model folder laid out as sentence-transformers models are on the Hub
 * with their Optimum export: config.json (BertModel), tokenizer.json (WordPiece),
 * modules.json with Transformer → Pooling → Normalize, 1_Pooling/config.json,
 * sentence_bert_config.json, onnx/model.onnx. Returns the files written.
 */
export function writeBertFolder(dir: string, options: BertFolderOptions = {}): string[] {
  const shape = bertPresets[options.preset ?? 'mini'];
  const pooling = options.pooling ?? 'mean';
  const maxSeqLength = options.maxSeqLength ?? 256;
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  const vocab = wordPieceVocab(shape.vocabSize);
  const shaped = { ...shape, vocabSize: vocab.length };
  const id = (token: string) => vocab.indexOf(token);
  const special = (token: string) => ({
    id: id(token),
    content: token,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const files: string[] = [];
  const write = (name: string, value: unknown) => {
    json(join(dir, name), value);
    files.push(join(dir, name));
  };
  write('config.json', {
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: shape.hidden,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate,
    max_position_embeddings: shape.maxPositions,
    type_vocab_size: shape.typeVocabSize,
    vocab_size: vocab.length,
    layer_norm_eps: shape.layerNormEps,
    hidden_act: 'gelu',
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    initializer_range: 0.02,
    torch_dtype: 'float32',
    transformers_version: '4.44.0',
  });
  const sequence = (typeId: number, name: 'A' | 'B') => ({ Sequence: { id: name, type_id: typeId } });
  const specialToken = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } });
  write('tokenizer.json', {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BERT_SPECIAL_TOKENS.map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [specialToken('[CLS]', 0), sequence(0, 'A'), specialToken('[SEP]', 0)],
      pair: [
        specialToken('[CLS]', 0),
        sequence(0, 'A'),
        specialToken('[SEP]', 0),
        sequence(1, 'B'),
        specialToken('[SEP]', 1),
      ],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((token) => [token, { id: token, ids: [id(token)], tokens: [token] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i])),
    },
  });
  write('tokenizer_config.json', {
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: shape.maxPositions,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  });
  write('special_tokens_map.json', {
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    unk_token: '[UNK]',
  });
  writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  files.push(join(dir, 'vocab.txt'));
  write('modules.json', [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ]);
  write('sentence_bert_config.json', { max_seq_length: maxSeqLength, do_lower_case: false });
  write('config_sentence_transformers.json', {
    __version__: { sentence_transformers: '3.0.1', transformers: '4.44.0', pytorch: '2.4.0' },
    prompts: {},
    default_prompt_name: null,
    similarity_fn_name: 'cosine',
  });
  write(join('1_Pooling', 'config.json'), {
    word_embedding_dimension: shape.hidden,
    pooling_mode_cls_token: pooling === 'cls',
    pooling_mode_mean_tokens: pooling === 'mean',
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: false,
    include_prompt: true,
  });
  const graph = GraphBuilder.create('main_graph');
  addBertEncoder(graph, shaped, new Prng(options.seed ?? 5));
  files.push(
    ...writeOnnxModel(join(dir, 'onnx', 'model.onnx'), graph, {
      opset: 17,
      docString: 'VMM fixture: a BERT-style sentence encoder with random weights',
    }),
  );
  return files;
}
