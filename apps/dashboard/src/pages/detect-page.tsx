import { useEffect, useRef, useState } from 'react';
import { labelColour as colourOf } from '@vmm/display';
import { request } from '../api.js';
import { ErrorNote, ModelPicker, Slider, ms, Section, useTaskModels } from '../components.js';
import { ImageDrop, visionForm } from '../image-drop.js';

interface Detection {
  box: { x1: number; y1: number; x2: number; y2: number };
  label: string;
  score: number;
}

interface DetectAnswer {
  detections: Detection[];
  image: { width: number; height: number };
  timings: { total_ns: number; inference_ns: number; preprocess_ns: number; postprocess_ns: number };
}

/** Detection playground: an image in, boxes drawn on a canvas with labels and scores. */
export function DetectPage({ model: chosen }: { model: string | undefined }) {
  const models = useTaskModels('object-detection', chosen);
  const { model } = models;
  const [file, setFile] = useState<File>();
  const [confidence, setConfidence] = useState(0.25);
  const [iou, setIou] = useState(0.7);
  const [answer, setAnswer] = useState<DetectAnswer>();
  const [error, setError] = useState<string>();
  const [roundTripMs, setRoundTripMs] = useState<number>();
  const canvas = useRef<HTMLCanvasElement>(null);

  // Ask again when the image, model or thresholds change (thresholds settle for 200 ms first).
  useEffect(() => {
    if (!file || !model) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      const started = performance.now();
      request('/v1/vision/detect', {
        method: 'POST',
        body: visionForm(model, file, {
          confidence_threshold: String(confidence),
          iou_threshold: String(iou),
        }),
        signal: controller.signal,
      })
        .then((response) => response.json() as Promise<DetectAnswer>)
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
  }, [file, model, confidence, iou]);

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
    const line = Math.max(2, Math.round(Math.min(bitmap.width, bitmap.height) / 200));
    const font = Math.max(12, Math.round(Math.min(bitmap.width, bitmap.height) / 40));
    context.font = `${font}px sans-serif`;
    for (const { box, label, score } of answer?.detections ?? []) {
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
    <Section title="Detection" aside={<ModelPicker page="detect" models={models} />}>
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
              {answer.detections.length} objects · model {ms(answer.timings.total_ns)} (inference{' '}
              {ms(answer.timings.inference_ns)}) · round trip {roundTripMs?.toFixed(0)} ms
            </p>
          )}
          <ErrorNote error={error} />
        </div>
        <div className="result">
          <canvas ref={canvas} data-testid="canvas" aria-label="The image with the boxes found" />
          {answer && (
            <table data-testid="detections">
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col">Score</th>
                  <th scope="col">Box</th>
                </tr>
              </thead>
              <tbody>
                {answer.detections.map((d, i) => (
                  <tr key={i}>
                    <td>
                      <span className="swatch" style={{ background: colourOf(d.label) }} /> {d.label}
                    </td>
                    <td>{d.score.toFixed(3)}</td>
                    <td>{[d.box.x1, d.box.y1, d.box.x2, d.box.y2].map((v) => Math.round(v)).join(', ')}</td>
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
