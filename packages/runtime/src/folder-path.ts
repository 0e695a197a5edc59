import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';

const inside = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * The absolute path of `path`, a file a model folder's own JSON names (vmm.json's `model` and
 * `labels`, …), refused unless it stays inside the folder: no absolute paths, no `..` climbing
 * out, no symlink leading elsewhere. A model folder may come from anyone who can create a model
 * (`/api/create` with uploaded files), so what it names is untrusted input.
 */
export function folderPath(dir: string, path: string, what: string, kind: 'file' | 'any' = 'file'): string {
  // An absolute path is not echoed: it says where things are on some machine, and answers
  // never name server paths.
  const shown = isAbsolute(path) ? '(an absolute path)' : JSON.stringify(path.slice(0, 200));
  const refuse = (why: string) =>
    new VmmError(
      ErrorCode.FailedPrecondition,
      `${what} ${shown} ${why}; it must name a file inside the model's folder`,
    );
  if (path.length === 0 || path.includes('\0') || path.includes('\\') || isAbsolute(path))
    throw refuse('is not a relative path');
  const root = realpathSync(dir);
  const joined = resolve(root, path);
  if (!inside(root, joined)) throw refuse('leads out of the folder');
  if (existsSync(joined) && !inside(root, realpathSync(joined))) throw refuse('is a link out of the folder');
  // What names a file must name one: the folder itself, or a folder in it, is refused here
  // rather than failing later as a read of a directory.
  if (kind === 'file' && existsSync(joined) && statSync(joined).isDirectory())
    throw refuse('is a folder, not a file');
  return joined;
}
