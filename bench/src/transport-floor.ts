import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { credentials } from '@grpc/grpc-js';
import { type GenerateChunk, InferenceClient } from '@vmm/proto';

/**
 * The least that HTTP → gRPC → another process and back costs with the transports VMM uses:
 * node:http in front, a grpc-js client, and a bare grpc-js server in a process of its own that
 * answers at once (transport-floor-server.ts). Same hops as the gateway path, none of VMM's
 * code: a request's time through it is the floor under the gateway's extra time to first token.
 */
export async function startTransportFloor(): Promise<{ url: string; close: () => Promise<void> }> {
  const child = fork(new URL('./transport-floor-server.js', import.meta.url), { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve(message.port));
    child.once('exit', (code) => reject(new Error(`the transport floor's server exited (${code})`)));
  });
  const client = new InferenceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; prompt: string };
      const call = client.generate({
        model: body.model,
        prompt: body.prompt,
        raw: true,
        images: [],
        system: undefined,
        options: undefined,
        context: undefined,
      });
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      call.on('data', (chunk: GenerateChunk) =>
        res.write(`${JSON.stringify({ response: chunk.text, done: chunk.done !== undefined })}\n`),
      );
      call.on('end', () => res.end());
      call.on('error', (error: Error) => res.end(`${JSON.stringify({ error: error.message })}\n`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
