import { writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';
import { imageForm, readImage } from './read-image.js';
import { checkOut, resultPath } from './result-path.js';

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
      checkOut(flags.out, several);
      const client = new GatewayClient(context);
      for (const file of images) {
        const image = await readImage(file);
        const form = imageForm(model, image, basename(file), { output: flags.mask ? 'mask' : 'cutout' });
        const response = await client.send('POST', '/v1/vision/remove-background', { body: form });
        const suffix = flags.mask ? 'mask' : 'cutout';
        const path = resultPath(flags.out, several, `${basename(file, extname(file))}.${suffix}.png`);
        await writeFile(path, Buffer.from(await response.arrayBuffer()));
        const share = Number(response.headers.get('x-vmm-foreground') ?? 0);
        context.stdout.write(`${file} → ${path} (foreground ${(100 * share).toFixed(1)} % of the image)\n`);
      }
    });
}
