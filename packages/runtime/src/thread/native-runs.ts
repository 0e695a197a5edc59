/**
 * A model thread may only end between native runs: onnxruntime-node completes a run with a
 * callback into the thread's JavaScript, and a thread terminated while a run is pending aborts
 * the whole process ("terminate called after throwing an instance of 'Napi::Error'"). Every run
 * and session load goes through `nativeRun`; `exitBetweenRuns` ends the thread as soon as none
 * is pending.
 */
let inFlight = 0;
let exitCode: number | undefined;
/**
 * When the pending native run began (ms since the epoch; 0 when none is), shared with the
 * owning thread. onnxruntime-node runs a session synchronously on the calling thread, so while
 * a run is pending this thread answers nothing: its owner reads this clock instead, to tell a
 * long run (wait) from a runaway loop in JavaScript (end the thread) and from a run that never
 * returns (see ThreadHost.watch).
 */
const runClock = new BigInt64Array(new SharedArrayBuffer(8));

/** The clock's memory, handed to the owning thread when the thread starts serving. */
export function nativeRunClock(): SharedArrayBuffer {
  return runClock.buffer as SharedArrayBuffer;
}

export async function nativeRun<T>(run: () => Promise<T>): Promise<T> {
  inFlight += 1;
  if (inFlight === 1) Atomics.store(runClock, 0, BigInt(Date.now()));
  try {
    return await run();
  } finally {
    inFlight -= 1;
    if (inFlight === 0) Atomics.store(runClock, 0, 0n);
    if (exitCode !== undefined && inFlight === 0) process.exit(exitCode);
  }
}

/** Ends this worker thread (never call it on the main thread) once no native run is pending. */
export function exitBetweenRuns(code: number): void {
  exitCode = code;
  if (inFlight === 0) process.exit(code);
}
