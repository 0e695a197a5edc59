import { useEffect, useRef, useState } from 'react';
import { labelColour as colourOf, labelRgb, paintRle } from '@vmm/display';
import { request } from '../api.js';
import { ErrorNote, ModelPicker, Slider, ms, Section, useTaskModels } from '../components.js';
import { ImageDrop, visionForm } from '../image-drop.js';

interface Detection {
  box: { x1: number; y1: number; x2: number; y2: number };
  label: string;
  score: number;
  /** Segmentation: the mask over the image as COCO RLE ([height, width], column-major runs). */
  mask?: { size: [number, number]; counts: number[]; area: number };
  /** Pose: the keypoints. */
  keypoints?: { name: string; x: number; y: number; score: number }[];
}

interface HeadAnswer {
  image: { width: number; height: number };
  timings: { total_ns: number; inference_ns: number; preprocess_ns: number; postprocess_ns: number };
  detections?: Detection[];
  segments?: Detection[];
  poses?: Detection[];
  skeleton?: [number, number][];
}

/** The three playgrounds of models that find boxes, and what sets each apart. */
interface HeadKind {
  page: 'detect' | 'segment' | 'pose';
  title: string;
  task: string;
  canvasLabel: string;
  /** A column of the table after the box. */
  column?: { header: string; cell(found: Detection): string };
}

/** A keypoint is drawn from this visibility on, as Ultralytics draws them. */
const KEYPOINT_SEEN = 0.5;

const kinds = {
  detect: {
    page: 'detect',
    title: 'Detection',
    task: 'object-detection',
    canvasLabel: 'The image with the boxes found',
  },
  segment: {
    page: 'segment',
    title: 'Segmentation',
    task: 'instance-segmentation',
    canvasLabel: 'The image with the masks and boxes found',
    column: { header: 'Mask pixels', cell: (found) => String(found.mask?.area ?? 0) },
  },
  pose: {
    page: 'pose',
    title: 'Pose',
    task: 'pose-estimation',
    canvasLabel: 'The image with the people and skeletons found',
    column: {
      header: 'Keypoints seen',
      cell: (found) =>
        `${(found.keypoints ?? []).filter((k) => k.score >= KEYPOINT_SEEN).length}/${found.keypoints?.length ?? 0}`,
    },
  },
} satisfies Record<string, HeadKind>;

/** Detection playground: an image in, boxes drawn on a canvas with labels and scores. */
export const DetectPage = ({ model }: { model: string | undefined }) => (
  <HeadPage kind={kinds.detect} chosen={model} />
);

/** Segmentation playground: each object's mask laid over the image in its label's colour. */
export const SegmentPage = ({ model }: { model: string | undefined }) => (
  <HeadPage kind={kinds.segment} chosen={model} />
);

/** Pose playground: each person's skeleton drawn over the image. */
export const PosePage = ({ model }: { model: string | undefined }) => (
  <HeadPage kind={kinds.pose} chosen={model} />
);

/** What an answer found: boxes, segments or poses, whichever the route answers with. */
const foundIn = (answer: HeadAnswer | undefined): Detection[] =>
  answer?.detections ?? answer?.segments ?? answer?.poses ?? [];

/** The masks as one see-through layer, each in its label's colour. */
function maskLayer(found: readonly Detection[], width: number, height: number): ImageData | undefined {
  const masked = found.filter((d) => d.mask && d.mask.size[0] === height && d.mask.size[1] === width);
  if (masked.length === 0) return undefined;
  const layer = new ImageData(width, height);
  for (const { mask, label } of masked)
    paintRle(layer.data, width, height, mask!.counts, [...labelRgb(label), 115]);
  return layer;
}

function HeadPage({ kind, chosen }: { kind: HeadKind; chosen: string | undefined }) {
  const models = useTaskModels(kind.task, chosen);
  const { model } = models;
  const [file, setFile] = useState<File>();
  const [confidence, setConfidence] = useState(0.25);
  const [iou, setIou] = useState(0.7);
  const [answer, setAnswer] = useState<HeadAnswer>();
  const [error, setError] = useState<string>();
  const [roundTripMs, setRoundTripMs] = useState<number>();
  const canvas = useRef<HTMLCanvasElement>(null);

  // Ask again when the image, model or thresholds change (thresholds settle for 200 ms first).
  useEffect(() => {
    if (!file || !model) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      const started = performance.now();
      request(`/v1/vision/${kind.page}`, {
        method: 'POST',
        body: visionForm(model, file, {
          confidence_threshold: String(confidence),
          iou_threshold: String(iou),
        }),
        signal: controller.signal,
      })
        .then((response) => response.json() as Promise<HeadAnswer>)
        .then((value) => {
          setAnswer(value);
          setRoundTripMs(performance.now() - started);
          setError(undefined);
        })
        .catch((caught: unknown) => {
          if (!controller.signal.aborted) setError((caught as Error).message);
        });
    }, 200);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [file, model, confidence, iou, kind.page]);

  const found = foundIn(answer);

  // The image is decoded once per file; the boxes are redrawn over it for each answer.
  const [bitmap, setBitmap] = useState<ImageBitmap>();
  useEffect(() => {
    setBitmap(undefined);
    if (!file) return;
    let live = true;
    createImageBitmap(file, { imageOrientation: 'from-image' }).then(
      (decoded) => (live ? setBitmap(decoded) : decoded.close()),
      // Not an image the browser can draw: the server's answer (an error) says what is wrong.
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [file]);

  useEffect(() => {
    const target = canvas.current;
    if (!target) return;
    target.width = bitmap?.width ?? 0;
    target.height = bitmap?.height ?? 0;
    const context = target.getContext('2d');
    if (!bitmap || !context) return;
    context.drawImage(bitmap, 0, 0);
    const found = foundIn(answer);
    const masks = maskLayer(found, bitmap.width, bitmap.height);
    if (masks) {
      // Laid over the picture (putImageData would replace it): through a canvas of its own.
      const overlay = new OffscreenCanvas(bitmap.width, bitmap.height);
      overlay.getContext('2d')?.putImageData(masks, 0, 0);
      context.drawImage(overlay, 0, 0);
    }
    const line = Math.max(2, Math.round(Math.min(bitmap.width, bitmap.height) / 200));
    const font = Math.max(12, Math.round(Math.min(bitmap.width, bitmap.height) / 40));
    context.font = `${font}px sans-serif`;
    for (const { keypoints, label } of found) {
      if (!keypoints) continue;
      const seen = (i: number) => (keypoints[i]?.score ?? 0) >= KEYPOINT_SEEN;
      context.strokeStyle = colourOf(label);
      context.lineWidth = line;
      for (const [a, b] of answer?.skeleton ?? []) {
        if (!seen(a) || !seen(b)) continue;
        context.beginPath();
        context.moveTo(keypoints[a]!.x, keypoints[a]!.y);
        context.lineTo(keypoints[b]!.x, keypoints[b]!.y);
        context.stroke();
      }
      context.fillStyle = '#fff';
      keypoints.forEach((point, i) => {
        if (!seen(i)) return;
        context.beginPath();
        context.arc(point.x, point.y, line * 1.5, 0, 2 * Math.PI);
        context.fill();
        context.stroke();
      });
    }
    for (const { box, label, score } of found) {
      const colour = colourOf(label);
      context.strokeStyle = colour;
      context.lineWidth = line;
      context.strokeRect(box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1);
      const text = `${label} ${score.toFixed(2)}`;
      const width = context.measureText(text).width + 8;
      const top = box.y1 - font - 6 >= 0 ? box.y1 - font - 6 : box.y1;
      context.fillStyle = colour;
      context.fillRect(box.x1, top, width, font + 6);
      context.fillStyle = '#000';
      context.fillText(text, box.x1 + 4, top + font);
    }
  }, [bitmap, answer]);

  return (
    <Section title={kind.title} aside={<ModelPicker page={kind.page} models={models} />}>
      <div className="playground">
        <div className="controls">
          <ImageDrop onImage={setFile} />
          <Slider
            id="confidence"
            label="Confidence"
            value={confidence}
            min={0.01}
            max={1}
            step={0.01}
            onChange={setConfidence}
          />
          <Slider id="iou" label="IoU (NMS)" value={iou} min={0.05} max={1} step={0.05} onChange={setIou} />
          {answer && (
            <p className="stats" data-testid="timings">
              {found.length} {kind.page === 'pose' ? 'people' : 'objects'} · model{' '}
              {ms(answer.timings.total_ns)} (inference {ms(answer.timings.inference_ns)}) · round trip{' '}
              {roundTripMs?.toFixed(0)} ms
            </p>
          )}
          <ErrorNote error={error} />
        </div>
        <div className="result">
          <canvas ref={canvas} data-testid="canvas" aria-label={kind.canvasLabel} />
          {answer && (
            <table data-testid="detections">
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col">Score</th>
                  <th scope="col">Box</th>
                  {kind.column && <th scope="col">{kind.column.header}</th>}
                </tr>
              </thead>
              <tbody>
                {found.map((d, i) => (
                  <tr key={i}>
                    <td>
                      <span className="swatch" style={{ background: colourOf(d.label) }} /> {d.label}
                    </td>
                    <td>{d.score.toFixed(3)}</td>
                    <td>{[d.box.x1, d.box.y1, d.box.x2, d.box.y2].map((v) => Math.round(v)).join(', ')}</td>
                    {kind.column && <td>{kind.column.cell(d)}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </Section>
  );
}
