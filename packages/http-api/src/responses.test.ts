import { describe, expect, it } from '@jest/globals';
import { responsesSchema, responsesToChat } from './responses.js';
import { parseBody } from './validation.js';

const tool = { type: 'function', name: 'get_weather', parameters: { type: 'object' } };
const chatOf = (body: object) => responsesToChat(parseBody(responsesSchema, { model: 'm', ...body }));

describe('responsesToChat', () => {
  it('joins calls to the assistant turn that made them and turns outputs into tool messages', () => {
    const chat = chatOf({
      input: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { role: 'assistant', content: 'Looking.' },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'rain' }] },
      ],
      tools: [tool],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Looking.',
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: 'rain' },
    ]);
  });

  it('maps tool_choice: named, and allowed_tools narrowing the tools', () => {
    expect(
      chatOf({ input: 'x', tools: [tool], tool_choice: { type: 'function', name: 'get_weather' } }),
    ).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const narrowed = chatOf({
      input: 'x',
      tools: [tool, { type: 'function', name: 'other' }],
      tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'other' }] },
    });
    expect(narrowed).toMatchObject({ tool_choice: 'required', tools: [{ function: { name: 'other' } }] });
    expect(() =>
      chatOf({
        input: 'x',
        tools: [tool],
        tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'nope' }] },
      }),
    ).toThrow(/not in tools: nope/);
  });

  it('refuses what needs stored responses or other kinds of tools, by name', () => {
    expect(() => chatOf({ input: [{ type: 'item_reference', id: 'msg_1' }] })).toThrow(/item_reference/);
    expect(() => chatOf({ input: 'x', tools: [{ type: 'web_search' }] })).toThrow(/tools\.0\.type/);
  });
});
