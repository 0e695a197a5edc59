import { mean } from 'simple-statistics';
import { type RequestSample, VISION_STAGES, type VisionStages } from './api-client.js';
import type { LevelRun } from './load-generator.js';
import { type Distribution, distribution } from './percentiles.js';

export interface LevelResult {
  concurrency: number;
  promptWords: number;
  /** Requests/s asked for (open loop); absent for a closed loop. */
  rate?: number;
  requests: number;
  failed: number;
  /** Failures by HTTP status ("0" when no response came), with one message each. */
  errors: Record<string, { count: number; message: string }>;
  durationS: number;
  requestsPerSecond: number;
  outputTokensPerSecond: number;
  /** Mean tokens per successful request, as the server counted them. */
  promptTokens: number;
  outputTokens: number;
  ttftMs?: Distribution;
  itlMs?: Distribution;
  e2eMs?: Distribution;
  /** Vision: the server's own time per stage, median over the level's answers (ms). */
  stagesMs?: VisionStages;
}

// simple-statistics' mean throws on an empty list: a level where every request failed has none.
const meanOf = (values: number[]) => (values.length === 0 ? 0 : mean(values));

export function summariseLevel(
  plan: { concurrency: number; promptWords: number; rate?: number },
  run: LevelRun,
): LevelResult {
  const ok = run.samples.filter((sample) => sample.ok);
  const errors: LevelResult['errors'] = {};
  for (const sample of run.samples) {
    if (sample.ok) continue;
    const entry = (errors[String(sample.status)] ??= { count: 0, message: sample.error ?? 'failed' });
    entry.count += 1;
  }
  const seconds = run.wallMs / 1000;
  const pick = (f: (sample: RequestSample) => number | undefined) =>
    ok.map(f).filter((value): value is number => value !== undefined);
  const ttft = distribution(pick((sample) => sample.ttftMs));
  const itl = distribution(ok.flatMap((sample) => sample.itlMs));
  const e2e = distribution(pick((sample) => sample.e2eMs));
  const staged = ok.flatMap((sample) => (sample.stagesMs ? [sample.stagesMs] : []));
  const stages =
    staged.length === 0
      ? undefined
      : (Object.fromEntries(
          VISION_STAGES.map((stage) => [stage, distribution(staged.map((s) => s[stage]))?.p50 ?? 0]),
        ) as VisionStages);
  return {
    concurrency: plan.concurrency,
    promptWords: plan.promptWords,
    ...(plan.rate !== undefined ? { rate: plan.rate } : {}),
    requests: run.samples.length,
    failed: run.samples.length - ok.length,
    errors,
    durationS: seconds,
    requestsPerSecond: ok.length / seconds,
    outputTokensPerSecond: ok.reduce((sum, sample) => sum + sample.outputTokens, 0) / seconds,
    promptTokens: meanOf(pick((sample) => sample.promptTokens)),
    outputTokens: meanOf(pick((sample) => sample.outputTokens)),
    ...(ttft ? { ttftMs: ttft } : {}),
    ...(itl ? { itlMs: itl } : {}),
    ...(e2e ? { e2eMs: e2e } : {}),
    ...(stages ? { stagesMs: stages } : {}),
  };
}
