import type { ReactNode } from 'react';
export { formatBytes } from '@vmm/display';
import { type ModelTag, listModels } from './api.js';
import { href } from './router.js';
import { useAsync } from './use-async.js';

/** An error as the API sent it. */
export function ErrorNote({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

export function Section({
  title,
  children,
  aside,
}: {
  title: string;
  children: ReactNode;
  aside?: ReactNode;
}) {
  return (
    <section>
      <div className="section-head">
        <h2>{title}</h2>
        {aside}
      </div>
      {children}
    </section>
  );
}

/** The models of one task, to pick one for a playground; the choice goes into the URL. */
export function ModelPicker({
  task,
  page,
  model,
}: {
  task: string;
  page: string;
  model: string | undefined;
}) {
  const models = useAsync(listModels, []);
  const ofTask = (models.data ?? []).filter((m: ModelTag) => m.details.task === task);
  const chosen = model ?? ofTask[0]?.name;
  return (
    <div className="picker">
      <label htmlFor="model">Model</label>
      <select
        id="model"
        value={chosen ?? ''}
        onChange={(e) => (window.location.hash = href(page, e.target.value))}
        disabled={ofTask.length === 0}
      >
        {ofTask.length === 0 && <option value="">no {task} model</option>}
        {ofTask.map((m) => (
          <option key={m.name} value={m.name}>
            {m.name}
          </option>
        ))}
      </select>
      <ErrorNote error={models.error} />
    </div>
  );
}

/** The model a playground uses: the one in the URL, else the first of its task. */
export function useModelOf(task: string, model: string | undefined): string | undefined {
  const models = useAsync(listModels, []);
  return model ?? (models.data ?? []).find((m) => m.details.task === task)?.name;
}

export const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;
