// The tiny folder must load unchanged in transformers.js, the reference JavaScript consumer of
// Optimum exports, and generate what a plain no-cache decode with onnxruntime-node generates.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  env,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { type LlamaFolder, writeLlamaFolder } from '../src/index.js';
import { greedyNoCache } from './ort-llama.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-tjs-'));
let folder: LlamaFolder;
let tokenizer: PreTrainedTokenizer;

beforeAll(async () => {
  folder = writeLlamaFolder(join(root, 'tiny-llama'), { variants: ['fp32', 'fp16', 'merged'] });
  // Local files only: nothing may be fetched from a hub.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = root;
  env.useFSCache = false;
  tokenizer = await AutoTokenizer.from_pretrained('tiny-llama');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the tiny folder in transformers.js', () => {
  it.each([
    'the',
    'and',
    'of',
    'to',
    'a',
    'in',
    'was',
    'is',
    'they',
    'it',
    'that',
    'on',
    'with',
    'their',
    'people',
    'day',
  ])('tokenizes the common word "%s" as one token after BOS', (word) => {
    const ids = tokenizer.encode(word);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(1);
    expect(tokenizer.decode(ids.slice(1))).toBe(word);
  });

  it('falls back to byte tokens for characters it has never seen, and decodes them back', () => {
    const text = 'naïve 東京 ✓';
    const ids = tokenizer.encode(text);
    expect(ids.some((id) => id >= 3 && id < 259)).toBe(true);
    expect(ids).not.toContain(0);
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text);
  });

  it('renders the TinyLlama chat template', () => {
    const rendered = tokenizer.apply_chat_template(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
      { tokenize: false, add_generation_prompt: true },
    );
    expect(rendered).toBe(
      '<|system|>\nBe brief.</s>\n<|user|>\nWhat is the capital of France?</s>\n<|assistant|>\n',
    );
  });

  it.each([
    ['model.onnx', {}],
    ['model_fp16.onnx', { dtype: 'fp16' as const }],
    ['decoder_model_merged.onnx', { model_file_name: 'decoder_model_merged' }],
  ])(
    'continues a prompt greedily (%s) exactly as a no-cache decode with onnxruntime-node',
    async (file, options) => {
      const feeds = {
        'model.onnx': {},
        'model_fp16.onnx': { kvType: 'float16' as const },
        'decoder_model_merged.onnx': { useCacheBranch: false },
      }[file];
      const prompt = 'The people of the town were';
      const promptIds = tokenizer.encode(prompt);
      const model = await AutoModelForCausalLM.from_pretrained('tiny-llama', {
        local_files_only: true,
        ...options,
      });
      const inputs = tokenizer(prompt);
      const output = (await model.generate({ ...inputs, max_new_tokens: 16, do_sample: false })) as {
        tolist(): bigint[][];
      };
      const generated = (output.tolist()[0] ?? []).map(Number).slice(promptIds.length);
      await model.dispose();

      const session = await ort.InferenceSession.create(join(folder.dir, 'onnx', file), {
        intraOpNumThreads: 1,
      });
      const expected = await greedyNoCache(session, folder, promptIds, 16, feeds);
      await session.release();
      expect(generated).toHaveLength(16);
      expect(generated).toEqual(expected);
    },
  );
});
