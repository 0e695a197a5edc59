import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, ExitCode } from '../cli-error.js';

/** Refuses `--out` naming a file when several images are given: their results need a folder. */
export function checkOut(out: string | undefined, several: boolean): void {
  if (out && several && statSync(out, { throwIfNoEntry: false })?.isFile())
    throw new CliError(ExitCode.Usage, `--out ${out} is a file; with several images give a folder`);
}

/**
 * Where one image's result goes: `out` itself for one image, the file `name` in the folder `out`
 * (made when missing) for several, or `name` here without `--out`.
 */
export function resultPath(out: string | undefined, several: boolean, name: string): string {
  if (out === undefined) return name;
  if (!several) return out;
  mkdirSync(out, { recursive: true });
  return join(out, name);
}
