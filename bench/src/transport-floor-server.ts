// The far end of bench/gateway's transport floor: a bare grpc-js server in a process of its
// own, as the worker is, whose Generate answers at once with one token and the last chunk.
// No VMM code runs on its path: what a request costs through it is the transports alone.
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { FinishReason, type GenerateChunk, type GenerateRequest, InferenceService } from '@vmm/proto';

const server = new Server();
server.addService(InferenceService, {
  generate(call: ServerWritableStream<GenerateRequest, GenerateChunk>) {
    call.write({ text: ' once', tokenIds: [42], done: undefined });
    call.write({
      text: '',
      tokenIds: [],
      done: {
        finishReason: FinishReason.FINISH_REASON_LENGTH,
        usage: { promptTokens: 1, completionTokens: 1 },
        timings: undefined,
      },
    });
    call.end();
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.send?.({ port });
});
// The bench ends this process by disconnecting from it.
process.on('disconnect', () => server.forceShutdown());
