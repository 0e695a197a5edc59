import { writeFile } from 'node:fs/promises';
import { mkdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { CliError, ExitCode } from '../cli-error.js';
import { GatewayClient } from '../client/gateway-client.js';
import { imageForm, readImage } from './read-image.js';

/**
 * Where an image's result goes: `out` itself for one image, a file in the folder `out` for
 * several, or beside nothing (the current folder) as NAME.cutout.png / NAME.mask.png.
 */
function resultPath(out: string | undefined, image: string, several: boolean, suffix: string): string {
  const name = `${basename(image, extname(image))}.${suffix}.png`;
  if (out === undefined) return name;
  if (!several) return out;
  mkdirSync(out, { recursive: true });
  return join(out, name);
}

/** `vmm remove-background MODEL IMAGE…`: each image's subject cut out, as a PNG with alpha (or its mask). */
export function removeBackgroundCommand(context: CliContext): Command {
  return new Command('remove-background')
    .alias('rembg')
    .description(
      'Cut the subject out of images (a background-removal model): PNGs with alpha, or their masks',
    )
    .argument('<model>', 'a background-removal model')
    .argument('<images...>', 'image files (JPEG, PNG, WebP, …)')
    .option(
      '-o, --out <file>',
      'where the PNG goes (a folder when several images; default NAME.cutout.png here)',
    )
    .option('--mask', 'write the matte as a greyscale PNG instead of the cut-out')
    .action(async (model: string, images: string[], flags: { out?: string; mask?: boolean }) => {
      const several = images.length > 1;
      if (flags.out && several && statSync(flags.out, { throwIfNoEntry: false })?.isFile())
        throw new CliError(ExitCode.Usage, `--out ${flags.out} is a file; with several images give a folder`);
      const client = new GatewayClient(context);
      for (const file of images) {
        const image = await readImage(file);
        const form = imageForm(model, image, basename(file), { output: flags.mask ? 'mask' : 'cutout' });
        const response = await client.send('POST', '/v1/vision/remove-background', { body: form });
        const path = resultPath(flags.out, file, several, flags.mask ? 'mask' : 'cutout');
        await writeFile(path, Buffer.from(await response.arrayBuffer()));
        const share = Number(response.headers.get('x-vmm-foreground') ?? 0);
        context.stdout.write(`${file} → ${path} (foreground ${(100 * share).toFixed(1)} % of the image)\n`);
      }
    });
}
