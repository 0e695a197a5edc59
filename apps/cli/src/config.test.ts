import { describe, expect, it } from '@jest/globals';
import { loadCliConfig, normaliseHost } from './config.js';

describe('the CLI configuration', () => {
  it('reads VMM_HOST as Ollama reads OLLAMA_HOST', () => {
    expect(normaliseHost('127.0.0.1:11434')).toBe('http://127.0.0.1:11434');
    expect(normaliseHost('gpu-box')).toBe('http://gpu-box');
    expect(normaliseHost('https://vmm.example/api/')).toBe('https://vmm.example/api');
    expect(() => normaliseHost('ftp://example')).toThrow('not an http(s) URL');
    expect(() => normaliseHost('http://exa mple')).toThrow('not a host or URL');
  });

  it('defaults to the gateway on loopback, and takes the API key', () => {
    expect(loadCliConfig({})).toEqual({ host: 'http://127.0.0.1:8080', apiKey: undefined, environment: {} });
    expect(loadCliConfig({ VMM_HOST: 'localhost:9000', VMM_API_KEY: 'k' })).toEqual({
      host: 'http://localhost:9000',
      apiKey: 'k',
      environment: { VMM_HOST: 'localhost:9000', VMM_API_KEY: 'k' },
    });
    expect(() => loadCliConfig({ VMM_HOST: 'ftp://x' })).toThrow(
      'invalid configuration: "ftp://x" is not an http(s) URL',
    );
  });
});
