import { type FormEvent, useState } from 'react';
import { getJson, postJson, request } from '../api.js';
import { ErrorNote, Section } from '../components.js';
import { useAsync } from '../use-async.js';

interface Batch {
  id: string;
  endpoint: string;
  status: string;
  created_at: number;
  request_counts: { total: number; completed: number; failed: number };
}

const example = [1, 2, 3]
  .map((i) =>
    JSON.stringify({
      custom_id: `request-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'tiny-llama', messages: [{ role: 'user', content: `Question ${i}?` }], max_tokens: 16 },
    }),
  )
  .join('\n');

const finished = (status: string) => ['completed', 'failed', 'cancelled'].includes(status);

/** Batch jobs: submit JSONL (OpenAI's Batch format), watch progress, cancel, download the results. */
export function BatchesPage() {
  const batches = useAsync(
    () => getJson<{ data: Batch[] }>('/v1/batches?limit=20').then((r) => r.data),
    [],
    1500,
  );
  const [text, setText] = useState(example);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const response = await request('/v1/batches', {
        method: 'POST',
        headers: { 'content-type': 'application/jsonl' },
        body: text,
      });
      await response.json();
      setError(undefined);
      batches.reload();
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const cancel = async (id: string) => {
    try {
      await postJson(`/v1/batches/${encodeURIComponent(id)}/cancel`, {});
      batches.reload();
    } catch (caught) {
      setError((caught as Error).message);
    }
  };

  const download = async (id: string) => {
    try {
      const blob = await (await request(`/v1/batches/${encodeURIComponent(id)}/results`)).blob();
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${id}.jsonl`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (caught) {
      setError((caught as Error).message);
    }
  };

  return (
    <Section title="Batches">
      <form className="controls" onSubmit={(e) => void submit(e)}>
        <label htmlFor="jsonl">Requests, one JSON object per line</label>
        <textarea
          id="jsonl"
          rows={6}
          value={text}
          onChange={(e) => setText(e.target.value)}
          spellCheck={false}
        />
        <label htmlFor="jsonl-file">or a .jsonl file</label>
        <input
          id="jsonl-file"
          type="file"
          accept=".jsonl,.json,application/jsonl,application/json,text/plain"
          onChange={(e) => void e.target.files?.[0]?.text().then(setText)}
        />
        <button type="submit" disabled={busy || !text.trim()}>
          Submit batch
        </button>
      </form>
      <ErrorNote error={error ?? batches.error} />
      <div className="table-wrap">
        <table data-testid="batches">
          <thead>
            <tr>
              <th scope="col">Batch</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(batches.data ?? []).map((batch) => {
              const { total, completed, failed } = batch.request_counts;
              return (
                <tr key={batch.id} data-batch={batch.id}>
                  <td>
                    <code>{batch.id}</code>
                    <div className="muted">
                      {batch.endpoint} · {new Date(batch.created_at * 1000).toLocaleTimeString()}
                    </div>
                  </td>
                  <td data-testid="batch-status">{batch.status}</td>
                  <td>
                    <progress max={Math.max(1, total)} value={completed + failed} />{' '}
                    <span>
                      {completed + failed}/{total}
                      {failed > 0 ? ` (${failed} failed)` : ''}
                    </span>
                  </td>
                  <td className="actions">
                    {!finished(batch.status) && batch.status !== 'cancelling' && (
                      <button type="button" onClick={() => void cancel(batch.id)}>
                        Cancel
                      </button>
                    )}
                    {finished(batch.status) && (
                      <button type="button" onClick={() => void download(batch.id)}>
                        Download results
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Section>
  );
}
