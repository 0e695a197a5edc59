import { basename, extname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';
import { formatTable } from '../output.js';
import { annotate, type DrawnInstance, KEYPOINT_SEEN } from './annotate.js';
import { imageForm, readImage } from './read-image.js';
import { checkOut, resultPath } from './result-path.js';

/** What the detection-head routes answer alike: boxes (detect), with masks (segment), with keypoints (pose). */
interface HeadAnswer {
  image: { width: number; height: number };
  timings: { total_ns: number };
  skeleton?: [number, number][];
}

type Found = DrawnInstance & { class_id: number };

/** The three routes whose models find boxes, and what each says about them. */
interface HeadKind {
  name: 'detect' | 'segment' | 'pose';
  description: string;
  modelArgument: string;
  out: string;
  /** The answer's list of what was found. */
  found(answer: HeadAnswer): Found[];
  /** Extra form fields from the flags. */
  fields?(flags: HeadFlags): Record<string, string | undefined>;
  /** Extra columns of the table, after the box. */
  columns?: { header: string; cell(found: Found): string };
}

interface HeadFlags {
  out?: string;
  confidence?: number;
  iou?: number;
  json?: boolean;
  polygons?: boolean;
}

export function fraction(value: string): number {
  const number = Number(value);
  if (!(number >= 0 && number <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1');
  return number;
}

/** `vmm detect MODEL IMAGE…`: boxes as a table (or JSON), and optionally the image with them drawn. */
export function detectCommand(context: CliContext): Command {
  return headCommand(context, {
    name: 'detect',
    description: 'Detect objects in images: a table of boxes, or the images with the boxes drawn',
    modelArgument: 'a detection model',
    out: 'write the image with boxes and labels drawn (a folder when several images)',
    found: (answer) => (answer as HeadAnswer & { detections: Found[] }).detections,
  });
}

/** `vmm segment MODEL IMAGE…`: boxes with the area of each mask, and optionally the masks drawn. */
export function segmentCommand(context: CliContext): Command {
  return headCommand(context, {
    name: 'segment',
    description: 'Segment objects in images (a YOLOv8-seg model): boxes and mask areas, or the masks drawn',
    modelArgument: 'a segmentation model',
    out: 'write the image with masks, boxes and labels drawn (a folder when several images)',
    found: (answer) => (answer as HeadAnswer & { segments: Found[] }).segments,
    fields: (flags) => ({ polygons: flags.polygons ? 'true' : undefined }),
    columns: { header: 'MASK PIXELS', cell: (found) => String(found.mask?.area ?? 0) },
  });
}

/** `vmm pose MODEL IMAGE…`: people with their keypoints, and optionally the skeletons drawn. */
export function poseCommand(context: CliContext): Command {
  return headCommand(context, {
    name: 'pose',
    description: 'Find people and their keypoints in images (a YOLOv8-pose model), or draw their skeletons',
    modelArgument: 'a pose model',
    out: 'write the image with skeletons, boxes and labels drawn (a folder when several images)',
    found: (answer) => (answer as HeadAnswer & { poses: Found[] }).poses,
    columns: {
      header: 'KEYPOINTS SEEN',
      cell: (found) => {
        const points = found.keypoints ?? [];
        return `${points.filter((point) => point.score >= KEYPOINT_SEEN).length}/${points.length}`;
      },
    },
  });
}

function headCommand(context: CliContext, kind: HeadKind): Command {
  const command = new Command(kind.name)
    .description(kind.description)
    .argument('<model>', kind.modelArgument)
    .argument('<images...>', 'image files (JPEG, PNG, WebP, …)')
    .option('-o, --out <file>', kind.out)
    .option('--confidence <0-1>', 'the lowest score kept (default: the server’s, 0.25)', fraction)
    .option('--iou <0-1>', 'the IoU above which overlapping boxes are merged (default 0.7)', fraction);
  if (kind.name === 'segment') command.option('--polygons', 'also ask for each mask’s outline (with --json)');
  return command
    .option('--json', 'print the server’s answers as JSON')
    .action(async (model: string, images: string[], flags: HeadFlags) => {
      const several = images.length > 1;
      checkOut(flags.out, several);
      const client = new GatewayClient(context);
      const answers: (HeadAnswer & { file: string })[] = [];
      for (const file of images) {
        const image = await readImage(file);
        const form = imageForm(model, image, basename(file), {
          confidence_threshold: flags.confidence?.toString(),
          iou_threshold: flags.iou?.toString(),
          ...kind.fields?.(flags),
        });
        const answer = await client.json<HeadAnswer>('POST', `/v1/vision/${kind.name}`, { body: form });
        answers.push({ file, ...answer });
        if (flags.out)
          await annotate(
            image,
            kind.found(answer),
            resultPath(
              flags.out,
              several,
              `${basename(file, extname(file))}.annotated${extname(file) || '.jpg'}`,
            ),
            answer.skeleton,
          );
      }
      if (flags.json) {
        const shown = several ? answers : answers[0];
        return void context.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      }
      const rows = answers.flatMap((answer) =>
        kind
          .found(answer)
          .map((d) => [
            ...(several ? [answer.file] : []),
            d.label,
            d.score.toFixed(3),
            [d.box.x1, d.box.y1, d.box.x2, d.box.y2].map((v) => Math.round(v)).join(', '),
            ...(kind.columns ? [kind.columns.cell(d)] : []),
          ]),
      );
      const header = [
        ...(several ? ['IMAGE'] : []),
        'LABEL',
        'SCORE',
        'BOX (x1, y1, x2, y2)',
        ...(kind.columns ? [kind.columns.header] : []),
      ];
      context.stdout.write(rows.length > 0 ? formatTable(header, rows) : 'no objects found\n');
    });
}
