import { readFile } from 'node:fs/promises';
import { CliError, ExitCode } from '../cli-error.js';

/** An image file's bytes, or a usage error naming the file. */
export async function readImage(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      ExitCode.Usage,
      `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}`,
    );
  }
}

/** The multipart form the vision routes take: the file as `image`, options as fields. */
export function imageForm(
  model: string,
  image: Buffer,
  fileName: string,
  fields: Record<string, string | undefined>,
): FormData {
  const form = new FormData();
  form.set('model', model);
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) form.set(key, value);
  form.set('image', new Blob([new Uint8Array(image)]), fileName);
  return form;
}
