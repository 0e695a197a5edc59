import { existsSync, readFileSync, statSync } from 'node:fs';
import { ErrorCode, VmmError } from '@vmm/errors';
import { modelTextLimits } from '@vmm/model-store';
import { folderPath } from './folder-path.js';
import { readFolderJson } from './folder-json.js';

/** A template may be a string or a list of named templates; "default" is the chat one. */
function templateOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const chosen = named.find((entry) => entry.name === 'default') ?? named[0];
    return typeof chosen?.template === 'string' ? chosen.template : undefined;
  }
  return undefined;
}

/**
 * A model's chat template where Hugging Face exports keep it: `chat_template` in
 * `tokenizer_config.json`, or — as newer exports write it (gpt-oss, Qwen 3 2507, SmolLM 3) — a
 * `chat_template.jinja` file beside it, or the older `chat_template.json`. Bounded as every
 * model text is (FAILED_PRECONDITION past modelTextLimits.templateBytes).
 */
export function readChatTemplate(dir: string, config?: Record<string, unknown>): string | undefined {
  const fromConfig = templateOf((config ?? readFolderJson(dir, 'tokenizer_config.json'))?.chat_template);
  let template = fromConfig;
  if (template === undefined) {
    const jinja = folderPath(dir, 'chat_template.jinja', 'the chat template file');
    if (existsSync(jinja)) {
      if (statSync(jinja).size > modelTextLimits.templateBytes) throw tooLarge();
      template = readFileSync(jinja, 'utf8');
    } else template = templateOf(readFolderJson(dir, 'chat_template.json')?.chat_template);
  }
  if (template !== undefined && Buffer.byteLength(template) > modelTextLimits.templateBytes) throw tooLarge();
  return template;
}

function tooLarge(): VmmError {
  return new VmmError(
    ErrorCode.FailedPrecondition,
    `the chat template is larger than ${modelTextLimits.templateBytes / (1024 * 1024)} MiB`,
  );
}
