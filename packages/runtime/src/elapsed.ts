/** Nanoseconds since `start` (a performance.now() reading of this thread), as timings report them. */
export function nsSince(start: number): number {
  return Math.round((performance.now() - start) * 1e6);
}
