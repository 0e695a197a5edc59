// A session thread for the ThreadHost tests: plain JS, because worker threads cannot load
// TypeScript; it uses the built @vmm/runtime as a real thread entry would.
import { ErrorCode, VmmError } from '@vmm/errors';
import { nativeRun, serveThread, transferring, yieldToEventLoop } from '@vmm/runtime';

let produced = 0;
/** The array `fill` answered with last (detached once moved). */
let filled;

serveThread({
  async echo(payload) {
    return payload;
  },
  async *count(payload, { signal }) {
    const { to, busyMs = 0 } = payload;
    for (let i = 1; i <= to; i += 1) {
      if (signal.aborted) return;
      // Blocks this thread like session.run does.
      const until = Date.now() + busyMs;
      while (Date.now() < until);
      produced += 1;
      yield i;
      await yieldToEventLoop();
    }
  },
  async produced() {
    return produced;
  },
  async reset() {
    produced = 0;
  },
  async fail(payload) {
    throw new VmmError(ErrorCode.InvalidArgument, `bad ${payload}`, { field: 'options.top_k' });
  },
  async crash() {
    setImmediate(() => {
      throw new Error('boom');
    });
    return new Promise(() => undefined);
  },
  // Blocks this thread's event loop for `ms` (a runaway loop in JavaScript).
  async spin(ms) {
    const until = Date.now() + ms;
    while (Date.now() < until);
    return 'spun';
  },
  // A native run that blocks this thread for `ms`, as onnxruntime-node's session.run does.
  async slowRun(ms) {
    return nativeRun(async () => {
      const until = Date.now() + ms;
      while (Date.now() < until);
      return 'ran';
    });
  },
  // An answer whose buffer moves to the owner; `lastFilled` tells its length as this thread sees it.
  async fill(length) {
    filled = new Float32Array(length).fill(1.5);
    return transferring({ data: filled }, [filled.buffer]);
  },
  async lastFilled() {
    return filled?.length ?? -1;
  },
  async sum(payload) {
    return payload.reduce((a, b) => a + b, 0);
  },
});
