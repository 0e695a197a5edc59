import { type FormEvent, useRef, useState } from 'react';
import benchmarks from '../../../../docs/benchmarks.md?raw';
import { type LevelResult, runSweep } from '../bench-sweep.js';
import { ErrorNote, ModelPicker, Section, useTaskModels } from '../components.js';
import { LineChart } from '../line-chart.js';
import { Markdown } from '../markdown.js';

/** Benchmarks: a concurrency sweep against this server, charted, and the stored results. */
export function BenchPage({ model: chosen }: { model: string | undefined }) {
  const models = useTaskModels('text-generation', chosen);
  const { model } = models;
  const [levels, setLevels] = useState('1,2,4');
  const [requests, setRequests] = useState(8);
  const [maxTokens, setMaxTokens] = useState(32);
  const [results, setResults] = useState<LevelResult[]>([]);
  const [error, setError] = useState<string>();
  const running = useRef<AbortController | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const start = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = levels.split(',').map((level) => Number(level.trim()));
    if (!model || parsed.some((level) => !Number.isInteger(level) || level < 1 || level > 64)) {
      setError('concurrency levels are whole numbers from 1 to 64, separated by commas');
      return;
    }
    const controller = new AbortController();
    running.current = controller;
    setBusy(true);
    setError(undefined);
    setResults([]);
    try {
      await runSweep({
        model,
        levels: parsed,
        requestsPerLevel: requests,
        maxTokens,
        signal: controller.signal,
        onLevel: (result) => setResults((all) => [...all, result]),
      });
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
      running.current = undefined;
    }
  };

  const fixed = (value: number | undefined, digits = 0) =>
    value === undefined ? '–' : value.toFixed(digits);
  return (
    <>
      <Section title="Benchmark this server" aside={<ModelPicker page="bench" models={models} />}>
        <form className="controls inline" onSubmit={(e) => void start(e)}>
          <label htmlFor="levels">Concurrency levels</label>
          <input id="levels" value={levels} onChange={(e) => setLevels(e.target.value)} />
          <label htmlFor="requests">Requests per level</label>
          <input
            id="requests"
            type="number"
            min={1}
            max={1000}
            value={requests}
            onChange={(e) => setRequests(Number(e.target.value))}
          />
          <label htmlFor="bench-tokens">Max tokens</label>
          <input
            id="bench-tokens"
            type="number"
            min={1}
            max={1024}
            value={maxTokens}
            onChange={(e) => setMaxTokens(Number(e.target.value))}
          />
          {busy ? (
            <button type="button" onClick={() => running.current?.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" disabled={!model}>
              Run sweep
            </button>
          )}
        </form>
        <ErrorNote error={error} />
        {results.length > 0 && (
          <>
            <div className="table-wrap">
              <table data-testid="sweep">
                <thead>
                  <tr>
                    <th scope="col">Concurrency</th>
                    <th scope="col">Output tok/s</th>
                    <th scope="col">Requests/s</th>
                    <th scope="col">TTFT p50 / p99 ms</th>
                    <th scope="col">E2E p50 ms</th>
                    <th scope="col">Failed</th>
                  </tr>
                </thead>
                <tbody>
                  {results.map((r) => (
                    <tr key={r.concurrency}>
                      <td>{r.concurrency}</td>
                      <td>{r.outputTokensPerSecond.toFixed(1)}</td>
                      <td>{r.requestsPerSecond.toFixed(2)}</td>
                      <td>
                        {fixed(r.ttftP50Ms)} / {fixed(r.ttftP99Ms)}
                      </td>
                      <td>{fixed(r.e2eP50Ms)}</td>
                      <td>{r.failed}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="charts">
              <LineChart
                title="Output tokens/s by concurrency"
                unit="tok/s"
                xLabel={(x) => `c=${x}`}
                series={[
                  {
                    name: 'tok/s',
                    colour: '#0a84ff',
                    points: results.map((r) => ({ x: r.concurrency, y: r.outputTokensPerSecond })),
                  },
                ]}
              />
              <LineChart
                title="TTFT p50 by concurrency"
                unit="ms"
                xLabel={(x) => `c=${x}`}
                series={[
                  {
                    name: 'TTFT p50',
                    colour: '#ff9f0a',
                    points: results.map((r) => ({ x: r.concurrency, y: r.ttftP50Ms })),
                  },
                ]}
              />
            </div>
          </>
        )}
      </Section>
      <Section title="Stored results (docs/benchmarks.md)">
        <Markdown source={benchmarks} />
      </Section>
    </>
  );
}
