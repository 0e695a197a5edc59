import type { RequestSample, Sender } from './api-client.js';
import { promptOf } from './prompts.js';

export interface LevelPlan {
  /** Requests in flight at most (closed loop: exactly, all the time). */
  concurrency: number;
  promptWords: number;
  /** Stop after this many requests... */
  requests?: number;
  /** ...or start no new request after this long. */
  durationMs?: number;
  /** Open loop: Poisson arrivals at this many requests/s, still at most `concurrency` in flight. */
  rate?: number;
  /** Seeds the arrival times, so that two runs send the same schedule. */
  seed: number;
  /** Numbers the prompts, so that no two requests of a run share a prefix. */
  firstIndex: number;
}

export interface LevelRun {
  samples: RequestSample[];
  /** From the level's start to its last response. */
  wallMs: number;
}

/** mulberry32: a small seeded generator for arrival times. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Runs one level: a closed loop (each of `concurrency` clients sends its next request when
 * the last one ends) or, with `rate`, an open loop (requests arrive on a Poisson schedule and
 * wait for a free slot). `onSample` sees each response as it ends (progress bars).
 */
export async function runLevel(
  plan: LevelPlan,
  send: Sender,
  onSample: (sample: RequestSample) => void,
): Promise<LevelRun> {
  if (plan.requests === undefined && plan.durationMs === undefined)
    throw new RangeError('a level needs requests or a duration');
  const started = performance.now();
  const now = () => performance.now() - started;
  const samples: RequestSample[] = [];
  let sent = 0;
  const mayStart = () =>
    (plan.requests === undefined || sent < plan.requests) &&
    (plan.durationMs === undefined || now() < plan.durationMs);
  const sendNext = async () => {
    const index = plan.firstIndex + sent;
    sent += 1;
    const sample = await send(promptOf(plan.promptWords, index), now());
    samples.push(sample);
    onSample(sample);
  };

  if (plan.rate === undefined) {
    await Promise.all(
      Array.from({ length: plan.concurrency }, async () => {
        while (mayStart()) await sendNext();
      }),
    );
  } else {
    const random = seededRandom(plan.seed);
    const inFlight = new Set<Promise<void>>();
    let arrival = 0;
    while (mayStart()) {
      await sleep(arrival - now());
      while (inFlight.size >= plan.concurrency) await Promise.race(inFlight);
      if (!mayStart()) break;
      const request = sendNext().finally(() => inFlight.delete(request));
      inFlight.add(request);
      arrival += (-Math.log(1 - random()) / plan.rate) * 1000;
    }
    await Promise.all(inFlight);
  }
  return { samples, wallMs: now() };
}
