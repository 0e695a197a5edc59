import { describe, expect, it } from '@jest/globals';
import { formatModelfile, parseModelfile } from './modelfile.js';
import { parametersFromJson } from './model-parameters.js';

describe('Modelfile', () => {
  it('reads FROM, PARAMETER, SYSTEM, TEMPLATE and LICENSE, and writes them back', () => {
    const text = [
      '# a comment',
      'FROM tiny-llama',
      'parameter temperature 0.2',
      'PARAMETER stop "<|end|>"',
      'PARAMETER stop ###',
      'PARAMETER num_ctx 256',
      'SYSTEM """You are terse.',
      'Answer in one line."""',
      'TEMPLATE "{{ messages }}"',
      'LICENSE MIT',
    ].join('\n');
    const recipe = parseModelfile(text);
    expect(recipe).toEqual({
      from: 'tiny-llama',
      system: 'You are terse.\nAnswer in one line.',
      template: '{{ messages }}',
      license: ['MIT'],
      parameters: { temperature: 0.2, stop: ['<|end|>', '###'], num_ctx: 256 },
    });
    expect(parseModelfile(formatModelfile(recipe, 'again'))).toEqual(recipe);
  });

  it.each([
    ['FROM a\nPARAMETER temperature hot', /line 2: parameter temperature must be a number/],
    ['FROM a\nPARAMETER num_ctx 1.5', /num_ctx must be an integer/],
    ['FROM a\nPARAMETER mirostat 1', /mirostat is not supported/],
    ['FROM a\nPARAMETER colour red', /unknown parameter colour/],
    ['ADAPTER ./lora.gguf', /line 1: ADAPTER is not supported/],
    ['FROB x', /unknown instruction FROB/],
    ['SYSTEM """never closed', /not closed/],
    ['SYSTEM', /SYSTEM needs a value/],
  ])('refuses %j', (text, message) => {
    expect(() => parseModelfile(text)).toThrow(message);
  });

  it('checks JSON parameters the same way', () => {
    expect(parametersFromJson({ temperature: 0, stop: ['a', 'b'], seed: -1 })).toEqual({
      temperature: 0,
      stop: ['a', 'b'],
      seed: -1,
    });
    expect(() => parametersFromJson({ top_k: -1 })).toThrow(/must not be negative/);
  });
});
