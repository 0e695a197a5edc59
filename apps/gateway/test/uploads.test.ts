// /v1/files bounds the uploads it receives at once (each is held whole until stored): past
// VMM_MAX_UPLOADS the next is answered 429 with Retry-After before its body is read, and the
// uploads under way finish (issue 28, point 6).
import { afterAll, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { waitFor } from '@vmm/test-support';
import { gatewayConfig, useGateway } from './harness.js';

const filesDir = mkdtempSync(join(tmpdir(), 'vmm-uploads-'));
const gateway = useGateway(() =>
  gatewayConfig([], { maxUploads: 2, batchMaxBytes: 64 * 1024, filesStore: { kind: 'disk', dir: filesDir } }),
);
afterAll(() => rmSync(filesDir, { recursive: true, force: true }));
/** What the files directory holds: whole files and files being written. */
const stored = () => (existsSync(filesDir) ? readdirSync(filesDir).sort() : []);

const boundary = 'vmm-upload-test';
const head = (name: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n` +
  `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
  'Content-Type: application/jsonl\r\n\r\n';
const tail = `\r\n--${boundary}--\r\n`;
const line = JSON.stringify({
  custom_id: 'a',
  method: 'POST',
  url: '/api/generate',
  body: { model: 'tiny-llama', prompt: 'hi' },
});

/** Starts an upload and sends its first part; `finish` sends the rest and reads the answer. */
function startUpload(name: string, firstPart = head(name)) {
  const url = new URL(`${gateway.url}/v1/files`);
  const req = request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  req.write(firstPart);
  return {
    req,
    answered,
    finish: () => {
      req.end(`${line}${tail}`);
      return answered;
    },
  };
}

/** A whole small upload, by fetch. */
async function upload(): Promise<{ status: number; body: string }> {
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([`${line}\n`]), 'whole.jsonl');
  const response = await fetch(`${gateway.url}/v1/files`, { method: 'POST', body: form });
  return { status: response.status, body: await response.text() };
}

it('answers 429 past the uploads it may receive at once, and finishes those under way', async () => {
  await waitFor('the gateway’s Redis connection', async () => (await upload()).status === 200);
  const first = startUpload('one.jsonl');
  const second = startUpload('two.jsonl');
  // Once both are being received (their bodies are open), a third is turned away at once,
  // before its body is read. (Until they reach the route, a whole upload still goes through.)
  let turnedAway: { status: number; body: string } | undefined;
  await waitFor('an upload to be turned away while two are received', async () => {
    const third = await upload();
    if (third.status === 200) return false;
    turnedAway = third;
    return true;
  });
  expect(turnedAway?.status).toBe(429);
  expect(turnedAway?.body).toContain('uploads are being received, the most at once (VMM_MAX_UPLOADS)');
  const [one, two] = await Promise.all([first.finish(), second.finish()]);
  expect([one.status, two.status]).toEqual([200, 200]);
  // With the slots free again, an upload goes through.
  expect((await upload()).status).toBe(200);
});

it('streams the file to the files directory, keeps it whole, and removes it on delete', async () => {
  const lines = Array.from({ length: 200 }, (_, i) => line.replace('"a"', `"a${i}"`)).join('\n');
  const form = new FormData();
  form.append('file', new Blob([lines]), 'many.jsonl');
  form.append('purpose', 'batch'); // after the file, as some clients send it
  const created = await fetch(`${gateway.url}/v1/files`, { method: 'POST', body: form });
  expect(created.status).toBe(200);
  const file = (await created.json()) as { id: string; bytes: number };
  expect(file.bytes).toBe(Buffer.byteLength(lines));
  expect(stored()).toContain(file.id);
  const content = await fetch(`${gateway.url}/v1/files/${file.id}/content`);
  expect(await content.text()).toBe(lines);
  expect((await fetch(`${gateway.url}/v1/files/${file.id}`, { method: 'DELETE' })).status).toBe(200);
  expect(stored()).not.toContain(file.id);
});

it('keeps nothing of an upload that is too large, has no purpose, or is cut off by the client', async () => {
  const before = stored();
  const big = new FormData();
  big.append('purpose', 'batch');
  big.append('file', new Blob([Buffer.alloc(65 * 1024, 0x61)]), 'big.jsonl');
  const tooLarge = await fetch(`${gateway.url}/v1/files`, { method: 'POST', body: big });
  expect(tooLarge.status).toBe(413);
  const noPurpose = new FormData();
  noPurpose.append('file', new Blob([`${line}\n`]), 'x.jsonl');
  const refused = await fetch(`${gateway.url}/v1/files`, { method: 'POST', body: noPurpose });
  expect(refused.status).toBe(400);
  expect(await refused.text()).toContain('purpose is required');
  // A client that sends half a file and goes away: the partial file is removed.
  const cut = startUpload('cut.jsonl');
  cut.req.write('{"custom_id": "half');
  await waitFor('the cut-off upload to be written', () => stored().some((name) => name.endsWith('.part')));
  cut.req.destroy();
  await cut.answered.catch(() => undefined);
  await waitFor('the partial file to be removed', () => stored().every((name) => !name.endsWith('.part')));
  expect(stored()).toEqual(before);
});
