import { useEffect, useState } from 'react';
import { request } from '../api.js';
import { ErrorNote, ModelPicker, ms, Section, useTaskModels } from '../components.js';
import { ImageDrop, visionForm } from '../image-drop.js';

interface ClassifyAnswer {
  classes: { label: string; score: number }[];
  timings: { total_ns: number };
}

/** Classification playground: the top-k labels as bars. */
export function ClassifyPage({ model: chosen }: { model: string | undefined }) {
  const models = useTaskModels('image-classification', chosen);
  const { model } = models;
  const [file, setFile] = useState<File>();
  const [preview, setPreview] = useState<string>();
  const [answer, setAnswer] = useState<ClassifyAnswer>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!file) return;
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  useEffect(() => {
    if (!file || !model) return;
    const controller = new AbortController();
    request('/v1/vision/classify', {
      method: 'POST',
      body: visionForm(model, file, { top_k: '5' }),
      signal: controller.signal,
    })
      .then((response) => response.json() as Promise<ClassifyAnswer>)
      .then((value) => {
        setAnswer(value);
        setError(undefined);
      })
      .catch((caught: unknown) => !controller.signal.aborted && setError((caught as Error).message));
    return () => controller.abort();
  }, [file, model]);

  return (
    <Section title="Classification" aside={<ModelPicker page="classify" models={models} />}>
      <div className="playground">
        <div className="controls">
          <ImageDrop onImage={setFile} />
          {preview && <img className="preview" src={preview} alt="The image classified" />}
          <ErrorNote error={error} />
        </div>
        <div className="result">
          {answer && (
            <>
              <ol className="bars" data-testid="classes">
                {answer.classes.map((c) => (
                  <li key={c.label}>
                    <span className="bar-label">{c.label}</span>
                    <span className="bar" style={{ width: `${Math.max(1, c.score * 100)}%` }} />
                    <span className="bar-value">{(c.score * 100).toFixed(1)}%</span>
                  </li>
                ))}
              </ol>
              <p className="stats">model {ms(answer.timings.total_ns)}</p>
            </>
          )}
        </div>
      </div>
    </Section>
  );
}
