import { basename } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';
import { formatTable } from '../output.js';
import { imageForm, readImage } from './read-image.js';

interface ClassifyAnswer {
  classes: { class_id: number; label: string; score: number }[];
}

function topK(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 1000)
    throw new InvalidArgumentError('expected a whole number from 1 to 1000');
  return number;
}

/** `vmm classify MODEL IMAGE…`: the top classes of each image. */
export function classifyCommand(context: CliContext): Command {
  return new Command('classify')
    .description('Classify images: the top labels with their scores')
    .argument('<model>', 'an image classification model')
    .argument('<images...>', 'image files')
    .option('-k, --top-k <n>', 'how many classes to show', topK, 5)
    .option('--json', 'print the server’s answers as JSON')
    .action(async (model: string, images: string[], flags: { topK: number; json?: boolean }) => {
      const client = new GatewayClient(context);
      const answers: (ClassifyAnswer & { file: string })[] = [];
      for (const file of images) {
        const form = imageForm(model, await readImage(file), basename(file), { top_k: String(flags.topK) });
        answers.push({
          file,
          ...(await client.json<ClassifyAnswer>('POST', '/v1/vision/classify', { body: form })),
        });
      }
      if (flags.json) {
        return void context.stdout.write(
          `${JSON.stringify(images.length > 1 ? answers : answers[0], null, 2)}\n`,
        );
      }
      const several = images.length > 1;
      const rows = answers.flatMap(({ file, classes }) =>
        classes.map((c) => [...(several ? [file] : []), c.label, c.score.toFixed(3)]),
      );
      context.stdout.write(formatTable([...(several ? ['IMAGE'] : []), 'LABEL', 'SCORE'], rows));
    });
}
