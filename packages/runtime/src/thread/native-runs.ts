/**
 * A model thread may only end between native runs: onnxruntime-node completes a run with a
 * callback into the thread's JavaScript, and a thread terminated while a run is pending aborts
 * the whole process ("terminate called after throwing an instance of 'Napi::Error'"). Every run
 * and session load goes through `nativeRun`; `exitBetweenRuns` ends the thread as soon as none
 * is pending.
 */
let inFlight = 0;
let exitCode: number | undefined;

export async function nativeRun<T>(run: () => Promise<T>): Promise<T> {
  inFlight += 1;
  try {
    return await run();
  } finally {
    inFlight -= 1;
    if (exitCode !== undefined && inFlight === 0) process.exit(exitCode);
  }
}

/** Ends this worker thread (never call it on the main thread) once no native run is pending. */
export function exitBetweenRuns(code: number): void {
  exitCode = code;
  if (inFlight === 0) process.exit(code);
}
