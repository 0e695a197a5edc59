// A session thread for the ThreadHost tests: plain JS, because worker threads cannot load
// TypeScript; it uses the built @vmm/runtime as a real thread entry would.
import { ErrorCode, VmmError } from '@vmm/errors';
import { serveThread, yieldToEventLoop } from '@vmm/runtime';

let produced = 0;

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
  async sum(payload) {
    return payload.reduce((a, b) => a + b, 0);
  },
});
