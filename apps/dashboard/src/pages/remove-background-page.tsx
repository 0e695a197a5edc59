import { useEffect, useState } from 'react';
import { request } from '../api.js';
import { ErrorNote, ModelPicker, ms, Section, Slider, useTaskModels } from '../components.js';
import { ImageDrop, visionForm } from '../image-drop.js';

interface Cutout {
  url: string;
  foreground: number;
  totalNs: number;
}

/**
 * Background-removal playground: the cut-out over a checkerboard, laid on the original; a slider
 * moves the line between before (left) and after (right).
 */
export function RemoveBackgroundPage({ model: chosen }: { model: string | undefined }) {
  const models = useTaskModels('background-removal', chosen);
  const { model } = models;
  const [file, setFile] = useState<File>();
  const [original, setOriginal] = useState<string>();
  const [cutout, setCutout] = useState<Cutout>();
  const [split, setSplit] = useState(50);
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!file) return;
    const url = URL.createObjectURL(file);
    setOriginal(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  useEffect(() => {
    if (!file || !model) return;
    const controller = new AbortController();
    let url: string | undefined;
    request('/v1/vision/remove-background', {
      method: 'POST',
      body: visionForm(model, file, { output: 'cutout' }),
      signal: controller.signal,
    })
      .then(async (response) => {
        url = URL.createObjectURL(await response.blob());
        setCutout({
          url,
          foreground: Number(response.headers.get('x-vmm-foreground') ?? 0),
          totalNs: Number(response.headers.get('x-vmm-total-ns') ?? 0),
        });
        setError(undefined);
      })
      .catch((caught: unknown) => !controller.signal.aborted && setError((caught as Error).message));
    return () => {
      controller.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [file, model]);

  return (
    <Section title="Background removal" aside={<ModelPicker page="remove-background" models={models} />}>
      <div className="playground">
        <div className="controls">
          <ImageDrop onImage={setFile} />
          <Slider
            id="split"
            label="Before | after (%)"
            value={split}
            min={0}
            max={100}
            step={1}
            onChange={setSplit}
          />
          {cutout && (
            <p className="stats" data-testid="timings">
              foreground {(cutout.foreground * 100).toFixed(1)} % · model {ms(cutout.totalNs)}
            </p>
          )}
          {cutout && (
            <a href={cutout.url} download="cutout.png">
              Download the cut-out (PNG)
            </a>
          )}
          <ErrorNote error={error} />
        </div>
        <div className="result">
          {original && (
            <div className="before-after" data-testid="before-after">
              <img src={original} alt="The image as it was" />
              {cutout && (
                <img
                  className="after"
                  src={cutout.url}
                  alt="The subject cut out"
                  data-testid="cutout"
                  style={{ clipPath: `inset(0 0 0 ${split}%)` }}
                />
              )}
            </div>
          )}
        </div>
      </div>
    </Section>
  );
}
