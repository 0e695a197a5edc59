import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';

// Ollama-style names: a folder name, optionally with a ":tag". No separators, no "..",
// nothing that could climb out of the models directory.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(?::[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/;

/** Returns the name if it is safe to use as a folder under the models directory. */
export function validateModelName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new VmmError(ErrorCode.InvalidArgument, 'model name is required', { field: 'model' });
  }
  if (!MODEL_NAME.test(name) || name.includes('..')) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `invalid model name "${name.slice(0, 200)}": use letters, digits, ".", "_", "-" and an optional ":tag"`,
      { field: 'model' },
    );
  }
  return name;
}

/**
 * The folder of a model under `modelsDir`. "name:latest" is "name"; any other tag is part of
 * the folder name ("llama:fp16" → "llama-fp16"). Symlinks are followed and must stay inside.
 */
export function modelDir(modelsDir: string, name: string): string {
  validateModelName(name);
  const [base, tag] = name.split(':') as [string, string | undefined];
  const folder = tag === undefined || tag === 'latest' ? base : `${base}-${tag}`;
  const root = resolve(modelsDir);
  const candidate = join(root, folder);
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    throw new VmmError(ErrorCode.NotFound, `model "${name}" not found`, { field: 'model' });
  }
  const inside = relative(realpathSync(root), real);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    throw new VmmError(ErrorCode.InvalidArgument, `model "${name}" resolves outside the models directory`, {
      field: 'model',
    });
  }
  return real;
}
