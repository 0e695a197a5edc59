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

describe('streaming hold-back', () => {
  it('holds text that may still become a call, and releases text that cannot', () => {
    for (const text of ['', '  ', '{"na', '[', '<tool', '<tool_call>{'])
      expect(mayBeToolCall(text)).toBe(true);
    for (const text of ['Hello', '<b>', ' The']) expect(mayBeToolCall(text)).toBe(false);
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
