import { useEffect, useRef, useState } from 'react';
import { listWorkers, request, type WorkerView } from '../api.js';
import { ErrorNote, Section } from '../components.js';
import { LineChart } from '../line-chart.js';
import { type Counters, type LiveSample, sampleBetween, sumMetric } from '../metrics-text.js';

const EVERY_MS = 2000;
const KEEP_MS = 5 * 60 * 1000;

/** Workers (backend, device, models, running/queued, up or down), and live charts of the last minutes. */
export function WorkersPage() {
  const [workers, setWorkers] = useState<WorkerView[]>([]);
  const [samples, setSamples] = useState<LiveSample[]>([]);
  const [error, setError] = useState<string>();
  const last = useRef<Counters | undefined>(undefined);

  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const [list, text] = await Promise.all([listWorkers(), request('/metrics').then((r) => r.text())]);
        if (!live) return;
        setWorkers(list);
        setError(undefined);
        const now: Counters = {
          at: Date.now(),
          tokens: sumMetric(text, 'vmm_tokens_generated_total'),
          ttftSum: sumMetric(text, 'vmm_time_to_first_token_seconds_sum'),
          ttftCount: sumMetric(text, 'vmm_time_to_first_token_seconds_count'),
          queued: list.reduce((sum, w) => sum + w.queued, 0),
          running: list.reduce((sum, w) => sum + w.running, 0),
        };
        const before = last.current;
        last.current = now;
        if (before) {
          const sample = sampleBetween(before, now);
          setSamples((all) => [...all.filter((s) => s.at > sample.at - KEEP_MS), sample]);
        }
      } catch (caught) {
        if (live) setError((caught as Error).message);
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), EVERY_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);

  const seconds = (at: number) => `${Math.round((at - Date.now()) / 1000)} s`;
  return (
    <Section title="Workers" aside={<span className="muted">refreshed every {EVERY_MS / 1000} s</span>}>
      <ErrorNote error={error} />
      <ul className="workers">
        {workers.map((worker) => (
          <li key={worker.id} data-worker={worker.id} className={worker.up ? 'up' : 'down'}>
            <div className="worker-head">
              <strong>{worker.id}</strong>
              <span className={`badge ${worker.up ? 'up' : 'down'}`} data-testid="worker-state">
                {worker.up ? 'up' : 'down'}
              </span>
            </div>
            <dl>
              <dt>Backend</dt>
              <dd>{worker.backend}</dd>
              <dt>Device</dt>
              <dd>{worker.device ?? '—'}</dd>
              <dt>Providers</dt>
              <dd>{worker.providers.join(', ') || '—'}</dd>
              <dt>Running / queued</dt>
              <dd>
                {worker.running} / {worker.queued} (capacity {worker.capacity})
              </dd>
              <dt>Loaded</dt>
              <dd>{worker.loaded_models.join(', ') || 'none'}</dd>
              <dt>Models</dt>
              <dd>{worker.models.length}</dd>
              {!worker.up && worker.last_error && (
                <>
                  <dt>Last error</dt>
                  <dd className="error-text">{worker.last_error}</dd>
                </>
              )}
            </dl>
          </li>
        ))}
      </ul>
      <div className="charts">
        <LineChart
          title="Tokens/s"
          unit="tok/s"
          xLabel={seconds}
          series={[
            {
              name: 'generated',
              colour: '#0a84ff',
              points: samples.map((s) => ({ x: s.at, y: s.tokensPerSecond })),
            },
          ]}
        />
        <LineChart
          title="Time to first token"
          unit="ms"
          xLabel={seconds}
          series={[
            { name: 'mean TTFT', colour: '#ff9f0a', points: samples.map((s) => ({ x: s.at, y: s.ttftMs })) },
          ]}
        />
        <LineChart
          title="Requests"
          unit=""
          xLabel={seconds}
          series={[
            { name: 'queued', colour: '#ff3b30', points: samples.map((s) => ({ x: s.at, y: s.queued })) },
            { name: 'running', colour: '#34c759', points: samples.map((s) => ({ x: s.at, y: s.running })) },
          ]}
        />
      </div>
    </Section>
  );
}
