import { useState } from 'react';
import { listLoaded, listModels, listWorkers, postJson } from '../api.js';
import { ErrorNote, formatBytes, Section } from '../components.js';
import { href, pageForTask } from '../router.js';
import { useAsync } from '../use-async.js';

/** Every model with its task, backends, size, quantization and whether it is loaded; load and unload. */
export function ModelsPage() {
  const state = useAsync(
    async () => {
      const [models, loaded, workers] = await Promise.all([listModels(), listLoaded(), listWorkers()]);
      return { models, loaded, workers };
    },
    [],
    3000,
  );
  const [busy, setBusy] = useState<string>();
  const [actionError, setActionError] = useState<string>();

  const act = async (model: string, load: boolean) => {
    setBusy(model);
    setActionError(undefined);
    try {
      // Ollama's load and unload calls: no prompt; keep_alive 0 unloads.
      await postJson('/api/generate', load ? { model } : { model, keep_alive: 0 });
      state.reload();
    } catch (error) {
      setActionError(`${model}: ${(error as Error).message}`);
    } finally {
      setBusy(undefined);
    }
  };

  const { models = [], loaded = [], workers = [] } = state.data ?? {};
  // Until the first answer there is no count to give: "0 models" would be wrong.
  const waiting = state.data === undefined && state.error === undefined;
  return (
    <Section
      title="Models"
      aside={
        <span className="muted" role="status">
          {waiting ? 'loading…' : `${models.length} models`}
        </span>
      }
    >
      <ErrorNote error={state.error} />
      <ErrorNote error={actionError} />
      <div className="table-wrap">
        <table className="models">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Task</th>
              <th scope="col">Backends</th>
              <th scope="col">Size</th>
              <th scope="col">Quantization</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {waiting && (
              <tr>
                <td colSpan={7} className="muted">
                  Loading the models…
                </td>
              </tr>
            )}
            {models.map((model) => {
              const where = loaded.filter((l) => l.name === model.name);
              const backends = [
                ...new Set(workers.filter((w) => w.models.includes(model.name)).map((w) => w.backend)),
              ];
              return (
                <tr key={model.name} data-model={model.name}>
                  <td>
                    <a href={href(pageForTask(model.details.task), model.name)}>{model.name}</a>
                  </td>
                  <td>{model.details.task}</td>
                  <td>{backends.join(', ') || '—'}</td>
                  <td>{formatBytes(model.size)}</td>
                  <td>{model.details.quantization_level || '—'}</td>
                  <td>
                    {where.length > 0 ? (
                      <span className="badge up">loaded</span>
                    ) : (
                      <span className="badge">not loaded</span>
                    )}
                  </td>
                  <td>
                    <button
                      type="button"
                      disabled={busy === model.name}
                      onClick={() => void act(model.name, where.length === 0)}
                      aria-label={`${where.length > 0 ? 'Unload' : 'Load'} ${model.name}`}
                    >
                      {busy === model.name ? '…' : where.length > 0 ? 'Unload' : 'Load'}
                    </button>
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
