import { describe, expect, it } from '@jest/globals';
import { mayBeToolCall, messagesWithDefaultTools, parseToolCalls, toolCallSchema } from './tool-calls.js';

const tools = [
  { name: 'get_weather', parameters: '{"type":"object","properties":{"city":{"type":"string"}}}' },
  { name: 'get_time' },
];

describe('parseToolCalls', () => {
  it('reads <tool_call> blocks, keeping the text around them as content', () => {
    const { calls, content } = parseToolCalls(
      'Let me look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
      tools,
    );
    expect(calls).toMatchObject([{ name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(calls[0]?.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(content).toBe('Let me look.');
  });

  it('reads an output that is one call or a list, with arguments or parameters', () => {
    expect(parseToolCalls(' {"name":"get_time","parameters":{}} ', tools).calls).toHaveLength(1);
    expect(
      parseToolCalls(
        '[{"name":"get_time","arguments":{}},{"name":"get_weather","arguments":{"city":"x"}}]',
        tools,
      ).calls,
    ).toHaveLength(2);
  });

  it('leaves text, unknown tools and malformed calls as content', () => {
    for (const output of [
      'Hello',
      '{"name":"rm_rf","arguments":{}}',
      '{"name":"get_time","arguments":"x"}',
      '{"a":1',
    ]) {
      expect(parseToolCalls(output, tools)).toEqual({ calls: [], content: output });
    }
  });
});

describe('each family’s native call format', () => {
  const paris = [{ name: 'get_weather', arguments: '{"city":"Paris"}' }];
  it.each([
    ['Qwen / Hermes', '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'],
    ['Llama 3.1 JSON', '{"name": "get_weather", "parameters": {"city": "Paris"}}'],
    [
      'Llama 3.1 with <|python_tag|> left in',
      '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}',
    ],
    ['Mistral [TOOL_CALLS] list', '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}]'],
    ['Mistral list, marker dropped', '[{"name": "get_weather", "arguments": {"city": "Paris"}}]'],
    ['Mistral name[ARGS]', '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}'],
    ['Mistral name[ARGS], marker dropped', 'get_weather[ARGS]{"city": "Paris"}'],
    ['Gemma tool_code', '```tool_code\nget_weather(city="Paris")\n```'],
    ['Gemma call list', "[get_weather(city='Paris')]"],
  ])('%s', (_family, output) => {
    const parsed = parseToolCalls(output, tools);
    expect(parsed.calls).toMatchObject(paris);
    expect(parsed.content).toBe('');
  });

  it('reads several calls, and Python literals of every kind', () => {
    expect(
      parseToolCalls('get_time[ARGS]{}get_weather[ARGS]{"city": "Oslo"}', tools).calls.map(
        (call) => call.name,
      ),
    ).toEqual(['get_time', 'get_weather']);
    const { calls } = parseToolCalls(
      '```tool_code\nget_weather(city="Oslo", days=3, metric=True, at=None, hours=[1, 2.5], extra={"a": \'b\\\'c\'})\nget_time()\n```',
      tools,
    );
    expect(calls.map((call) => [call.name, JSON.parse(call.arguments)])).toEqual([
      [
        'get_weather',
        { city: 'Oslo', days: 3, metric: true, at: null, hours: [1, 2.5], extra: { a: "b'c" } },
      ],
      ['get_time', {}],
    ]);
  });

  it('leaves Python that is not a call of an offered tool as content', () => {
    for (const output of [
      '```tool_code\nrm_rf(path="/")\n```',
      '```tool_code\nget_weather("Paris")\n```',
      '```tool_code\nprint(1 + 2)\n```',
      '[get_weather(city=x)]',
      'unknown[ARGS]{}',
    ])
      expect(parseToolCalls(output, tools)).toEqual({ calls: [], content: output });
  });
});

describe('streaming hold-back', () => {
  it('holds text that may still become a call, and releases text that cannot', () => {
    for (const text of [
      '',
      '  ',
      '{"na',
      '[',
      '<tool',
      '<tool_call>{',
      '<|python',
      '<|python_tag|>{"name"',
      '[TOOL_CALLS]',
      '```tool',
      '```tool_code\nget_weather(',
      'get_weather',
      'get_weather[AR',
      'get_weather[ARGS]{"ci',
    ])
      expect(mayBeToolCall(text)).toBe(true);
    for (const text of ['Hello ', 'Hello,', '<b>', ' The sky', '```js', 'get_weather(city'])
      expect(mayBeToolCall(text)).toBe(false);
  });
});

describe('the default tool format', () => {
  it('puts the tools in the system message and rewrites calls and results as text', () => {
    const out = messagesWithDefaultTools(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        },
        { role: 'tool', content: '21', name: 'get_weather' },
      ],
      tools,
    );
    expect(out[0]?.content).toMatch(/^Be brief\.\n\nYou can call the following tools/);
    expect(out[0]?.content).toContain('"name":"get_weather"');
    expect(out[2]).toEqual({
      role: 'assistant',
      content: '{"name": "get_weather", "arguments": {"city":"Paris"}}',
    });
    expect(out[3]).toEqual({ role: 'user', content: 'Result of get_weather: 21' });
  });

  it('joins tool results to the user turn beside them, so roles still alternate', () => {
    const out = messagesWithDefaultTools(
      [
        { role: 'user', content: 'Weather and time?' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'a', name: 'get_weather', arguments: '{}' },
            { id: 'b', name: 'get_time', arguments: '{}' },
          ],
        },
        { role: 'tool', content: '21', name: 'get_weather' },
        { role: 'tool', content: '14:05', name: 'get_time' },
        { role: 'user', content: 'Thanks. And tomorrow?' },
      ],
      [],
    );
    expect(out.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(out[2]?.content).toBe(
      'Result of get_weather: 21\n\nResult of get_time: 14:05\n\nThanks. And tomorrow?',
    );
  });

  it('builds the schema a required or named choice constrains to', () => {
    expect(toolCallSchema(tools, 'required')).toMatchObject({ anyOf: [{}, {}] });
    expect(toolCallSchema(tools, { function: 'get_time' })).toMatchObject({
      properties: { name: { const: 'get_time' }, arguments: { type: 'object' } },
    });
    expect(() => toolCallSchema(tools, { function: 'nope' })).toThrow(/not among the tools/);
    expect(() => toolCallSchema([{ name: 'x', parameters: '[1]' }], 'required')).toThrow(
      /JSON Schema object/,
    );
  });
});
