import { type FormEvent, useState } from 'react';
import { postJson } from '../api.js';
import { ErrorNote, ModelPicker, Section, useTaskModels } from '../components.js';

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** Embeddings playground: a few texts, their vectors' size, and how similar each pair is. */
export function EmbedPage({ model: chosen }: { model: string | undefined }) {
  const models = useTaskModels('embedding', chosen);
  const { model } = models;
  const [text, setText] = useState(
    'A cat sits on the mat.\nA kitten rests on a rug.\nStocks fell sharply today.',
  );
  const [vectors, setVectors] = useState<number[][]>();
  const [texts, setTexts] = useState<string[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (event: FormEvent) => {
    event.preventDefault();
    const inputs = text
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    if (!model || inputs.length === 0) return;
    setBusy(true);
    try {
      const answer = await postJson<{ embeddings: number[][] }>('/api/embed', { model, input: inputs });
      setVectors(answer.embeddings);
      setTexts(inputs);
      setError(undefined);
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Embeddings" aside={<ModelPicker page="embed" models={models} />}>
      <form className="controls" onSubmit={(e) => void run(e)}>
        <label htmlFor="texts">Texts, one per line</label>
        <textarea id="texts" rows={5} value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" disabled={busy || !model}>
          Embed
        </button>
      </form>
      <ErrorNote error={error} />
      {vectors && (
        <div className="table-wrap">
          <p className="stats">
            {vectors.length} vectors of {vectors[0]?.length ?? 0} dimensions · cosine similarity
          </p>
          <table className="similarity" data-testid="similarity">
            <thead>
              <tr>
                <th scope="col">
                  <span className="sr-only">Text</span>
                </th>
                {texts.map((_, i) => (
                  <th key={i} scope="col">
                    {i + 1}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {vectors.map((row, i) => (
                <tr key={i}>
                  <th scope="row">
                    {i + 1}. {texts[i]}
                  </th>
                  {vectors.map((column, j) => {
                    const value = cosine(row, column);
                    return (
                      <td key={j} style={{ background: `rgba(10, 132, 255, ${Math.max(0, value) * 0.6})` }}>
                        {value.toFixed(3)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
