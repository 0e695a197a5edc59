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

/** The models of one task a playground may use, and the one it uses. */
export interface TaskModels {
  task: string;
  choices: ModelTag[];
  /** The model in the URL, else the task's first `:latest` (a model as its author meant it), else its first. */
  model: string | undefined;
  error: string | undefined;
}

/** One read of the model list per page: the playground and its picker share it. */
export function useTaskModels(task: string, chosen: string | undefined): TaskModels {
  const models = useAsync(listModels, []);
  const choices = (models.data ?? []).filter((m) => m.details.task === task);
  // The server lists names with their tag: a link to `mini-embed` means `mini-embed:latest`.
  const named = chosen !== undefined && !/:[^/]*$/.test(chosen) ? `${chosen}:latest` : chosen;
  // `tiny-llama:fp16` sorts before `tiny-llama:latest`: a variant is no default.
  const fallback = choices.find((m) => m.name.endsWith(':latest')) ?? choices[0];
  return { task, choices, model: named ?? fallback?.name, error: models.error };
}

/** Picks one of the task's models; the choice goes into the URL. */
export function ModelPicker({ page, models }: { page: string; models: TaskModels }) {
  const { task, choices, model, error } = models;
  return (
    <div className="picker">
      <label htmlFor="model">Model</label>
      <select
        id="model"
        value={model ?? ''}
        onChange={(e) => (window.location.hash = href(page, e.target.value))}
        disabled={choices.length === 0}
      >
        {choices.length === 0 && <option value="">no {task} model</option>}
        {choices.map((m) => (
          <option key={m.name} value={m.name}>
            {m.name}
          </option>
        ))}
      </select>
      <ErrorNote error={error} />
    </div>
  );
}

/** A labelled range input that shows its value. */
export function Slider(props: {
  id: string;
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  onChange: (value: number) => void;
}) {
  return (
    <div className="slider">
      <label htmlFor={props.id}>
        {props.label} <output htmlFor={props.id}>{props.value}</output>
      </label>
      <input
        id={props.id}
        type="range"
        min={props.min}
        max={props.max}
        step={props.step}
        value={props.value}
        onChange={(e) => props.onChange(Number(e.target.value))}
      />
    </div>
  );
}

export const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;
