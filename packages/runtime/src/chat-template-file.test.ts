import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@vmm/errors';
import { readChatTemplate } from './chat-template-file.js';

describe('readChatTemplate', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmm-template-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads tokenizer_config.json first, its default template when it holds a list', () => {
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: 'config' }));
    writeFileSync(join(dir, 'chat_template.jinja'), 'file');
    expect(readChatTemplate(dir)).toBe('config');
    const list = [
      { name: 'tool_use', template: 'tools' },
      { name: 'default', template: 'chat' },
    ];
    expect(readChatTemplate(dir, { chat_template: list })).toBe('chat');
  });

  it('falls back on chat_template.jinja, then chat_template.json, else none', () => {
    writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
    expect(readChatTemplate(dir)).toBeUndefined();
    writeFileSync(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: 'json' }));
    expect(readChatTemplate(dir)).toBe('json');
    writeFileSync(join(dir, 'chat_template.jinja'), '{{ messages }}');
    expect(readChatTemplate(dir)).toBe('{{ messages }}');
  });

  it('refuses a template past the bound, and a file that leads out of the folder', () => {
    writeFileSync(join(dir, 'chat_template.jinja'), 'x'.repeat(1024 * 1024 + 1));
    expect(() => readChatTemplate(dir, {})).toThrow('the chat template is larger than 1 MiB');
    rmSync(join(dir, 'chat_template.jinja'));
    writeFileSync(join(tmpdir(), `vmm-outside-${process.pid}.jinja`), 'secret');
    symlinkSync(join(tmpdir(), `vmm-outside-${process.pid}.jinja`), join(dir, 'chat_template.jinja'));
    try {
      expect(() => readChatTemplate(dir, {})).toThrow(
        expect.objectContaining({ code: ErrorCode.FailedPrecondition }),
      );
    } finally {
      rmSync(join(tmpdir(), `vmm-outside-${process.pid}.jinja`), { force: true });
    }
  });
});
