import { topCandidates } from './sampler.js';

export interface Logprob {
  id: number;
  logprob: number;
}

/**
 * The log-softmax of `logits` at `token`, and the `top` most likely tokens with theirs: the
 * distribution the sampler drew from, before temperature. Masked tokens (-Infinity) carry no
 * mass and are never among the alternatives unless nothing else is left.
 */
export function tokenLogprobs(
  logits: Float32Array,
  token: number,
  top: number,
): { logprob: number; top: Logprob[] } {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i += 1) if ((logits[i] as number) > max) max = logits[i] as number;
  let sum = 0;
  for (let i = 0; i < logits.length; i += 1) sum += Math.exp((logits[i] as number) - max);
  const logZ = max + Math.log(sum);
  const logprob = (id: number) => (logits[id] as number) - logZ;
  return {
    logprob: logprob(token),
    top:
      top > 0
        ? topCandidates(logits, Math.min(top, logits.length)).map((id) => ({ id, logprob: logprob(id) }))
        : [],
  };
}
