import { ErrorCode, VmmError } from '@vmm/errors';
import { ModelStore, parseModelName } from '@vmm/model-store';

/** Returns the name if it is a valid model name (see @vmm/model-store's parseModelName). */
export function validateModelName(name: unknown): string {
  parseModelName(name);
  return name as string;
}

/**
 * The folder a model is served from: its manifest's tree in the store, else its plain folder
 * (`name` for `name:latest`, `name-tag` for another tag). Symlinks are followed and must stay inside.
 */
export function modelDir(modelsDir: string, name: string): string {
  const parsed = parseModelName(name);
  const resolved = new ModelStore(modelsDir).resolve(parsed);
  if (!resolved)
    throw new VmmError(ErrorCode.NotFound, `model "${parsed.canonical}" not found`, { field: 'model' });
  return resolved.dir;
}
