import { describe, expect, it } from '@jest/globals';
import { canonicalModelName, hubReference, parseModelName } from './model-name.js';

describe('model names', () => {
  it.each([
    ['tiny-llama', 'tiny-llama:latest'],
    ['tiny-llama:latest', 'tiny-llama:latest'],
    ['tiny-llama:q4', 'tiny-llama:q4'],
    ['Tiny-Llama', 'Tiny-Llama:latest'],
    ['hf.co/Org/Repo', 'hf.co/Org/Repo:latest'],
    ['huggingface.co/Org/Repo:Q4', 'hf.co/Org/Repo:Q4'],
    ['library/llama3:8b', 'library/llama3:8b'],
  ])('%s is %s', (name, canonical) => {
    expect(canonicalModelName(name)).toBe(canonical);
  });

  it.each([
    '',
    '../etc',
    'a/../b',
    'a//b',
    '.vmm',
    'a/b/c/d',
    'a:',
    'a:-x',
    'a b',
    'a/b:c/d',
    'x'.repeat(301),
    '/abs',
  ])('refuses %j', (name) => {
    expect(() => parseModelName(name)).toThrow(/model name/);
  });

  it('reads a Hub reference with its variant', () => {
    expect(hubReference('hf.co/onnx-community/Qwen:q4')).toMatchObject({
      repo: 'onnx-community/Qwen',
      variant: 'q4',
    });
    expect(hubReference('hf.co/onnx-community/Qwen')).toMatchObject({ variant: undefined });
    expect(hubReference('tiny-llama')).toBeUndefined();
    expect(hubReference('hf.co/only-org')).toBeUndefined();
  });
});
