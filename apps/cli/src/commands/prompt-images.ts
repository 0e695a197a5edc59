import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';

/**
 * A path to a picture written in a prompt, as `ollama run` finds them: starting with `/`, `./`,
 * `../` or `~/` (spaces escaped with `\`, or the whole path quoted), ending in .jpg, .jpeg, .png
 * or .webp.
 */
const PATH =
  /(?:'((?:~|\.{1,2})?\/[^']+?\.(?:jpe?g|png|webp))'|"((?:~|\.{1,2})?\/[^"]+?\.(?:jpe?g|png|webp))"|((?:~|\.{1,2})?\/(?:\\ |[^\s'"])+?\.(?:jpe?g|png|webp)))(?=$|[\s,;:!?)])/gi;

/**
 * The pictures a prompt names that exist as files, and the prompt without them. A path to no
 * file stays in the prompt as text (the user may be talking about it).
 */
export function promptImages(prompt: string, cwd = process.cwd()): { prompt: string; paths: string[] } {
  const paths: string[] = [];
  const rest = prompt.replace(PATH, (whole, single?: string, double?: string, bare?: string) => {
    const written = single ?? double ?? (bare as string).replaceAll('\\ ', ' ');
    const path = written.startsWith('~/') ? resolve(homedir(), written.slice(2)) : resolve(cwd, written);
    if (!existsSync(path) || !statSync(path).isFile()) return whole;
    paths.push(path);
    return '';
  });
  return { prompt: rest.replace(/\s{2,}/g, ' ').trim(), paths };
}
