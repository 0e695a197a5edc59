// A vision model's preprocessing thread, for backends that leave the CPU cores free while a
// session runs (a GPU): onnxruntime-node's session.run blocks the
// thread that calls it, so preprocessing on the model's own thread could only start once the run
// before it had ended; here the next images are decoded and letterboxed while it runs. Their
// planes move back without a copy.
import { serveThread, transferring } from '@vmm/runtime';
import { preparePlanes } from './prepare-planes.js';
import type { PreprocessPayload } from './vision-thread-protocol.js';

serveThread({
  async prepare(payload): Promise<unknown> {
    const prepared = await preparePlanes(payload as PreprocessPayload);
    return transferring(prepared, [prepared.planes.buffer as ArrayBuffer]);
  },
});
