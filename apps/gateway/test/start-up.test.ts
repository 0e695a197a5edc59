// Start-up failures are one clear line and an exit code, not a stack trace.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { appMain, startProcess } from '@vmm/test-support';

let taken: Server;
let port: number;
beforeAll(async () => {
  taken = createServer();
  port = await new Promise<number>((resolve) =>
    taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)),
  );
});
afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

/** Starts an app that must fail to start; its exit code and output lines. */
async function failedStart(main: string, env: Record<string, string>) {
  const failure = await startProcess(main, env, /listening/).then(
    () => {
      throw new Error(`${main} started, and should not have`);
    },
    (error: { code: number | null; output: string }) => error,
  );
  return { code: failure.code, lines: failure.output.trim().split('\n') };
}

it.each([
  ['gateway', appMain.gateway, 'VMM_HTTP_PORT', 'vmm-gateway'],
  ['worker', appMain.worker, 'VMM_GRPC_PORT', 'vmm-worker'],
] as const)(
  'the %s says in one line that its port is in use, and exits 1',
  async (_name, main, variable, prefix) => {
    expect(await failedStart(main, { [variable]: String(port), VMM_MODELS_DIR: '/nonexistent' })).toEqual({
      code: 1,
      lines: [
        `${prefix}: cannot listen on 127.0.0.1:${port}: the address is in use (is another VMM running? set the port variable to another port)`,
      ],
    });
  },
);

it('the gateway says in one line that it cannot read VMM_WORKER_TLS_CA, and exits 1', async () => {
  expect(
    await failedStart(appMain.gateway, { VMM_HTTP_PORT: '0', VMM_WORKER_TLS_CA: '/nonexistent/ca.pem' }),
  ).toEqual({
    code: 1,
    lines: ["vmm-gateway: ENOENT: no such file or directory, open '/nonexistent/ca.pem'"],
  });
});
