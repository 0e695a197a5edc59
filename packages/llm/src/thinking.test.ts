import { describe, expect, it } from '@jest/globals';
import { ThinkingSplitter, thinkingSupport, thinkingVariables } from './thinking.js';

/** Feeds `chunks` one by one and joins what comes out of each side. */
function split(chunks: string[], opens = false) {
  const splitter = new ThinkingSplitter(opens);
  let thinking = '';
  let content = '';
  for (const chunk of [...chunks.map((c) => splitter.push(c)), splitter.flush()]) {
    thinking += chunk.thinking;
    content += chunk.content;
  }
  return { thinking, content };
}

describe('ThinkingSplitter', () => {
  it('splits a thought from the answer, whatever the chunks', () => {
    const output = '<think>\nThe user greets me.\n</think>\n\nHello!';
    const expected = { thinking: 'The user greets me.', content: 'Hello!' };
    expect(split([output])).toEqual(expected);
    // Every split point, tags cut in two included.
    for (let i = 1; i < output.length; i += 1)
      expect(split([output.slice(0, i), output.slice(i)])).toEqual(expected);
    expect(split([...output])).toEqual(expected);
  });

  it('starts inside the thought when the prompt opened it', () => {
    expect(split(['Let me see.', '</think>', 'Four.'], true)).toEqual({
      thinking: 'Let me see.',
      content: 'Four.',
    });
    expect(ThinkingSplitter.opensThinking('<|im_start|>assistant\n<think>\n')).toBe(true);
    expect(ThinkingSplitter.opensThinking('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(false);
    expect(ThinkingSplitter.opensThinking('<|im_start|>assistant\n')).toBe(false);
  });

  it('leaves an answer without a thought, and a <think> later on, as content', () => {
    expect(split(['Hello', ' there'])).toEqual({ thinking: '', content: 'Hello there' });
    expect(split(['Use <think> tags.'])).toEqual({ thinking: '', content: 'Use <think> tags.' });
    expect(split(['<thin', 'g>'])).toEqual({ thinking: '', content: '<thing>' });
  });

  it('keeps a thought that never closes (cut by a length limit) as thinking', () => {
    expect(split(['<think>Hmm, ', 'so'])).toEqual({ thinking: 'Hmm, so', content: '' });
  });
});

describe('thinkingSupport', () => {
  it('finds each template’s switch', () => {
    expect(
      thinkingSupport(
        '{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>{% endif %}',
      ),
    ).toEqual({
      canThink: true,
      switches: ['enable_thinking'],
    });
    expect(thinkingSupport('{{ reasoning_effort }}').switches).toEqual(['reasoning_effort']);
    expect(thinkingSupport('{% if thinking %}<think>{% endif %}').switches).toEqual(['thinking']);
    expect(thinkingSupport('{{ message.reasoning_content }}<think>')).toEqual({
      canThink: true,
      switches: [],
    });
    expect(thinkingSupport('{{ messages }}')).toEqual({ canThink: false, switches: [] });
    expect(thinkingSupport(undefined).canThink).toBe(false);
  });

  it('carries think to the switches', () => {
    const all = { canThink: true, switches: ['enable_thinking', 'reasoning_effort', 'thinking'] as const };
    expect(thinkingVariables(all, undefined)).toEqual({});
    expect(thinkingVariables(all, false)).toEqual({
      enable_thinking: false,
      reasoning_effort: 'low',
      thinking: false,
    });
    expect(thinkingVariables(all, 'high')).toEqual({
      enable_thinking: true,
      reasoning_effort: 'high',
      thinking: true,
    });
  });
});
