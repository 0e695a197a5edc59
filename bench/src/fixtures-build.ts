// How long the model fixtures take to build, against the budgets tests and `npm start` rely on:
// a tiny folder (every variant) within 5 s, the demo set within 10 s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeDemoModels, writeLlamaFolder } from '@vmm/model-fixtures';
import { median } from './stats.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, small: { type: 'boolean' } },
});
const runs = Number(values.runs);

function measure(label: string, budgetMs: number, build: (dir: string) => void, count = runs): void {
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const dir = mkdtempSync(join(tmpdir(), 'vmm-bench-fixtures-'));
    const started = performance.now();
    build(dir);
    samples.push(performance.now() - started);
    rmSync(dir, { recursive: true, force: true });
  }
  const ms = median(samples);
  console.log(
    `${label.padEnd(44)} median ${ms.toFixed(0).padStart(6)} ms over ${count}  budget ${budgetMs} ms  ratio ${(ms / budgetMs).toFixed(3)}`,
  );
}

measure('tiny llama (fp32+fp16+merged)', 5000, (dir) =>
  writeLlamaFolder(dir, { preset: 'tiny', variants: ['fp32', 'fp16', 'merged'] }),
);
measure('demo set (tiny llama, detector, classifier)', 10_000, (dir) => writeDemoModels(dir));
if (values.small)
  measure(
    'small llama (fp32, ~100M parameters)',
    60_000,
    (dir) => writeLlamaFolder(dir, { preset: 'small' }),
    1,
  );
