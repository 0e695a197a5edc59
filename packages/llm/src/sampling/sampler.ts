import type { ResolvedSampling } from './sampling-options.js';
import { SeededRandom } from './seeded-random.js';

/**
 * Picks the next token from a row of logits: penalties, then greedy (temperature 0) or
 * temperature → top-k → softmax → min-p → top-p → a seeded draw, in llama.cpp's order.
 */
export class Sampler {
  private readonly random: SeededRandom;

  constructor(private readonly options: ResolvedSampling) {
    this.random = new SeededRandom(options.seed);
  }

  get greedy(): boolean {
    return this.options.temperature === 0 || this.options.topK === 1;
  }

  /** `history`: prompt and generated ids so far, oldest first. Modifies `logits`. */
  sample(logits: Float32Array, history: readonly number[]): number {
    this.process(logits, history);
    return this.pick(logits);
  }

  /** Penalties, then logit_bias: the logits the distribution is drawn from (temperature aside). */
  process(logits: Float32Array, history: readonly number[]): void {
    this.applyPenalties(logits, history);
    for (const [id, bias] of this.options.logitBias)
      if (id < logits.length) logits[id] = (logits[id] as number) + bias;
  }

  /** Draws a token from processed logits. */
  pick(logits: Float32Array): number {
    if (this.greedy) return argmax(logits);
    const { temperature, topK, topP, minP } = this.options;

    const candidates = topCandidates(logits, topK > 0 ? Math.min(topK, logits.length) : logits.length);
    const max = logits[candidates[0] as number] as number;
    const weights = new Float64Array(candidates.length);
    let total = 0;
    for (let i = 0; i < candidates.length; i += 1) {
      const weight = Math.exp(((logits[candidates[i] as number] as number) - max) / temperature);
      weights[i] = weight;
      total += weight;
    }
    // Candidates are sorted best first, so min-p and top-p each cut a suffix.
    let keep = candidates.length;
    if (minP > 0) {
      const floor = minP * ((weights[0] as number) / total);
      while (keep > 1 && (weights[keep - 1] as number) / total < floor) keep -= 1;
    }
    if (topP < 1) {
      let afterMinP = 0;
      for (let i = 0; i < keep; i += 1) afterMinP += weights[i] as number;
      let mass = 0;
      for (let i = 0; i < keep; i += 1) {
        mass += (weights[i] as number) / afterMinP;
        if (mass >= topP) {
          keep = i + 1;
          break;
        }
      }
    }
    let kept = 0;
    for (let i = 0; i < keep; i += 1) kept += weights[i] as number;
    let draw = this.random.next() * kept;
    for (let i = 0; i < keep; i += 1) {
      draw -= weights[i] as number;
      if (draw < 0) return candidates[i] as number;
    }
    // Rounding left a sliver: the last candidate that had any weight (never a masked one).
    for (let i = keep - 1; i > 0; i -= 1) if ((weights[i] as number) > 0) return candidates[i] as number;
    return candidates[0] as number;
  }

  private applyPenalties(logits: Float32Array, history: readonly number[]): void {
    const { repetitionPenalty, presencePenalty, frequencyPenalty, repeatLastN } = this.options;
    if (repetitionPenalty === 1 && presencePenalty === 0 && frequencyPenalty === 0) return;
    const start = repeatLastN > 0 ? Math.max(0, history.length - repeatLastN) : 0;
    const counts = new Map<number, number>();
    for (let i = start; i < history.length; i += 1) {
      const id = history[i] as number;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [id, count] of counts) {
      if (id < 0 || id >= logits.length) continue;
      let logit = logits[id] as number;
      if (repetitionPenalty !== 1) logit = logit > 0 ? logit / repetitionPenalty : logit * repetitionPenalty;
      logit -= presencePenalty + frequencyPenalty * count;
      logits[id] = logit;
    }
  }
}

export function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i] as number;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  }
  return best;
}

/** Indices of the `k` largest logits, largest first (ties: lower index first). */
export function topCandidates(logits: Float32Array, k: number): number[] {
  if (k >= logits.length) {
    return Array.from({ length: logits.length }, (_, i) => i).sort(
      (a, b) => (logits[b] as number) - (logits[a] as number) || a - b,
    );
  }
  // A min-heap of size k over the vocabulary: O(V log k), without sorting 32000 logits.
  const heap: number[] = [];
  const less = (a: number, b: number) =>
    (logits[a] as number) < (logits[b] as number) || (logits[a] === logits[b] && a > b);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < heap.length && less(heap[l] as number, heap[smallest] as number)) smallest = l;
      if (r < heap.length && less(heap[r] as number, heap[smallest] as number)) smallest = r;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest] as number, heap[i] as number];
      i = smallest;
    }
  };
  for (let id = 0; id < logits.length; id += 1) {
    if (heap.length < k) {
      heap.push(id);
      for (let i = heap.length - 1; i > 0;) {
        const parent = (i - 1) >> 1;
        if (!less(heap[i] as number, heap[parent] as number)) break;
        [heap[i], heap[parent]] = [heap[parent] as number, heap[i] as number];
        i = parent;
      }
    } else if (less(heap[0] as number, id)) {
      heap[0] = id;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
}
