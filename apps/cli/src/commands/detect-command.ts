import { mkdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../cli-context.js';
import { CliError, ExitCode } from '../cli-error.js';
import { GatewayClient } from '../client/gateway-client.js';
import { formatTable } from '../output.js';
import { annotate, type DrawnBox } from './annotate.js';
import { imageForm, readImage } from './read-image.js';

interface DetectAnswer {
  detections: (DrawnBox & { class_id: number })[];
  image: { width: number; height: number };
  timings: { total_ns: number };
}

export function fraction(value: string): number {
  const number = Number(value);
  if (!(number >= 0 && number <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1');
  return number;
}

/** Where the annotated copy of `image` goes: `out` itself for one image, else a file in the folder `out`. */
function annotatedPath(out: string, image: string, several: boolean): string {
  if (!several) return out;
  mkdirSync(out, { recursive: true });
  return join(out, `${basename(image, extname(image))}.annotated${extname(image) || '.jpg'}`);
}

/** `vmm detect MODEL IMAGE…`: boxes as a table (or JSON), and optionally the image with them drawn. */
export function detectCommand(context: CliContext): Command {
  return new Command('detect')
    .description('Detect objects in images: a table of boxes, or the images with the boxes drawn')
    .argument('<model>', 'a detection model')
    .argument('<images...>', 'image files (JPEG, PNG, WebP, …)')
    .option('-o, --out <file>', 'write the image with boxes and labels drawn (a folder when several images)')
    .option('--confidence <0-1>', 'the lowest score kept (default: the server’s, 0.25)', fraction)
    .option('--iou <0-1>', 'the IoU above which overlapping boxes are merged (default 0.7)', fraction)
    .option('--json', 'print the server’s answers as JSON')
    .action(
      async (
        model: string,
        images: string[],
        flags: { out?: string; confidence?: number; iou?: number; json?: boolean },
      ) => {
        const several = images.length > 1;
        if (flags.out && several && statSync(flags.out, { throwIfNoEntry: false })?.isFile())
          throw new CliError(
            ExitCode.Usage,
            `--out ${flags.out} is a file; with several images give a folder`,
          );
        const client = new GatewayClient(context);
        const answers: (DetectAnswer & { file: string })[] = [];
        for (const file of images) {
          const image = await readImage(file);
          const form = imageForm(model, image, basename(file), {
            confidence_threshold: flags.confidence?.toString(),
            iou_threshold: flags.iou?.toString(),
          });
          const answer = await client.json<DetectAnswer>('POST', '/v1/vision/detect', { body: form });
          answers.push({ file, ...answer });
          if (flags.out) await annotate(image, answer.detections, annotatedPath(flags.out, file, several));
        }
        if (flags.json) {
          const shown = several ? answers : answers[0];
          return void context.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
        }
        const rows = answers.flatMap(({ file, detections }) =>
          detections.map((d) => [
            ...(several ? [file] : []),
            d.label,
            d.score.toFixed(3),
            [d.box.x1, d.box.y1, d.box.x2, d.box.y2].map((v) => Math.round(v)).join(', '),
          ]),
        );
        const header = [...(several ? ['IMAGE'] : []), 'LABEL', 'SCORE', 'BOX (x1, y1, x2, y2)'];
        context.stdout.write(rows.length > 0 ? formatTable(header, rows) : 'no objects found\n');
      },
    );
}
