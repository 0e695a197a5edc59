import { describe, expect, it } from '@jest/globals';
import { chatParameter } from './chat-parameters.js';
import { forTerminal } from './run-command.js';

describe('/set parameter', () => {
  it('sets numbers and whole numbers, and adds stop sequences', () => {
    const options = {};
    chatParameter(options, 'temperature', '0.7');
    chatParameter(options, 'num_predict', '64');
    chatParameter(options, 'stop', '"<|end|>"');
    chatParameter(options, 'stop', 'User:');
    expect(options).toEqual({ temperature: 0.7, num_predict: 64, stop: ['<|end|>', 'User:'] });
  });

  it('refuses unknown names and values of the wrong kind', () => {
    expect(() => chatParameter({}, 'warmth', '1')).toThrow("unknown parameter 'warmth'");
    expect(() => chatParameter({}, 'top_k', '2.5')).toThrow("top_k takes a whole number, not '2.5'");
    expect(() => chatParameter({}, 'temperature', 'hot')).toThrow("temperature takes a number, not 'hot'");
  });
});

describe('a model’s text on a terminal', () => {
  it('drops control characters and escape sequences’ introducers, keeps newlines, tabs and Unicode', () => {
    expect(forTerminal('a\u001b[2Jb\u0007c\u0000\n\td\u009bé🙂')).toBe('a[2Jbc\n\tdé🙂');
  });
});
