// /v1/vision/* multipart uploads: a form that names its model before its image has the image
// relayed to the worker while it arrives (Inference.DetectUpload, ClassifyUpload); a form that
// names it after is held whole (Detect, Classify). Both answer alike, and every wrong form is a
// clear 4xx that leaves nothing behind.
import { describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { detectorColours, drawSquares } from '@vmm/model-fixtures';
import { parsePrometheusText, waitFor } from '@vmm/test-support';
import sharp from 'sharp';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const MAX_BODY = 512 * 1024;
const workers = useWorkers();
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers), { maxBodyBytes: MAX_BODY }));

const png = (width = 320, height = 240) =>
  sharp(
    drawSquares(width, height, [
      { x: 40, y: 60, size: 50, rgb: detectorColours[2]!.rgb },
      { x: 200, y: 100, size: 70, rgb: detectorColours[0]!.rgb },
    ]).data,
    { raw: { width, height, channels: 3 } },
  )
    .png()
    .toBuffer();

/** The worker's count of `method` calls that ended with `code`. */
async function workerCalls(method: string, code = 'OK'): Promise<number> {
  const port = workers[0]?.metricsPort;
  if (port === undefined) throw new Error('the worker serves no metrics');
  const text = parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  return text.samples
    .filter(
      (s) => s.name === 'vmm_worker_calls_total' && s.labels.method === method && s.labels.code === code,
    )
    .reduce((sum, s) => sum + s.value, 0);
}

/** A form of `fields` with the image put before or after them. */
function form(fields: Record<string, string>, image: Buffer, imageFirst: boolean): FormData {
  const body = new FormData();
  const addImage = () => body.append('image', new Blob([image], { type: 'image/png' }), 'squares.png');
  if (imageFirst) addImage();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  if (!imageFirst) addImage();
  return body;
}

const post = (path: string, body: FormData) => fetch(`${gateway.url}${path}`, { method: 'POST', body });

describe('vision uploads', () => {
  it('relays an image whose form names the model first, and holds one named after; same answer', async () => {
    const image = await png();
    const fields = { model: 'detector', confidence_threshold: '0.3' };
    const [uploadsBefore, wholeBefore] = [await workerCalls('DetectUpload'), await workerCalls('Detect')];
    const streamed = await post('/v1/vision/detect', form(fields, image, false));
    const held = await post('/v1/vision/detect', form(fields, image, true));
    expect([streamed.status, held.status]).toEqual([200, 200]);
    const strip = (answer: unknown) => ({ ...(answer as object), timings: undefined });
    const [streamedBody, heldBody] = [await streamed.json(), await held.json()];
    expect(strip(streamedBody)).toEqual(strip(heldBody));
    expect(streamedBody).toMatchObject({
      model: 'detector',
      detections: [{}, {}],
      image: { width: 320, height: 240 },
    });
    expect(await workerCalls('DetectUpload')).toBe(uploadsBefore + 1);
    expect(await workerCalls('Detect')).toBe(wholeBefore + 1);
  });

  it('relays a classifier’s image too', async () => {
    const before = await workerCalls('ClassifyUpload');
    const response = await post(
      '/v1/vision/classify',
      form({ model: 'classifier', top_k: '1' }, await png(), false),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      model: 'classifier',
      classes: [{ label: expect.any(String) }],
    });
    expect(await workerCalls('ClassifyUpload')).toBe(before + 1);
  });

  it('refuses a field after a relayed image that is wrong, and the model is served afterwards', async () => {
    const response = await post(
      '/v1/vision/detect',
      form({ model: 'detector', confidence_threshold: '5' }, await png(), false),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'confidence_threshold' } });
    const again = await post('/v1/vision/detect', form({ model: 'detector' }, await png(), false));
    expect(again.status).toBe(200);
  });

  it('answers 404 for an unknown model named first, and 400 for a file field not named image', async () => {
    const unknown = await post('/v1/vision/detect', form({ model: 'no-such-model' }, await png(), false));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { param: 'model' } });
    const body = new FormData();
    body.append('model', 'detector');
    body.append('picture', new Blob([await png()]), 'x.png');
    const misnamed = await post('/v1/vision/detect', body);
    expect(misnamed.status).toBe(400);
    expect(await misnamed.json()).toMatchObject({ error: { param: 'image' } });
  });

  it('answers 413 for an image past the body limit, relayed or held', async () => {
    const big = Buffer.alloc(MAX_BODY + 1024, 7);
    for (const imageFirst of [false, true]) {
      const response = await post('/v1/vision/detect', form({ model: 'detector' }, big, imageFirst));
      expect([imageFirst, response.status]).toEqual([imageFirst, 413]);
      expect(await response.json()).toMatchObject({ error: { param: 'image' } });
    }
  });

  it('decodes a JSON body’s base64 image on the way when the model comes first; same answer', async () => {
    const image = (await png()).toString('base64');
    const [uploadsBefore, wholeBefore] = [await workerCalls('DetectUpload'), await workerCalls('Detect')];
    const json = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${gateway.url}/v1/vision/detect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const streamed = await json(`{"model": "detector", "image": "data:image/png;base64,${image}"}`);
    const held = await json(`{"image": "${image}", "model": "detector"}`);
    expect([streamed.status, held.status]).toEqual([200, 200]);
    const strip = (answer: unknown) => ({ ...(answer as object), timings: undefined });
    const streamedBody = await streamed.json();
    expect(strip(streamedBody)).toEqual(strip(await held.json()));
    expect(streamedBody).toMatchObject({ detections: [{}, {}] });
    expect(await workerCalls('DetectUpload')).toBe(uploadsBefore + 1);
    expect(await workerCalls('Detect')).toBe(wholeBefore + 1);
    // A gzip body is read as express.json reads one.
    const gzipped = await fetch(`${gateway.url}/v1/vision/detect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(`{"model": "detector", "image": "${image}"}`),
    });
    expect(gzipped.status).toBe(200);
  });

  it.each([
    ['malformed JSON', 400, 'body', '{"model": "detector", "image": "QUJD"'],
    ['an array', 400, 'body', '[1]'],
    ['no body', 400, 'body', ''],
    ['text that is not base64', 400, 'image', '{"model": "detector", "image": "QU*D"}'],
    ['no image', 400, 'image', '{"model": "detector"}'],
    [
      'an unknown field after the image',
      400,
      'colour',
      '{"model": "detector", "image": "QUJD", "colour": 1}',
    ],
    [
      'a threshold out of range',
      400,
      'confidence_threshold',
      '{"model": "detector", "image": "QUJD", "confidence_threshold": 2}',
    ],
    ['an unknown model', 404, 'model', '{"model": "no-such-model", "image": "QUJD"}'],
    ['a body past the limit', 413, 'body', `{"model": "detector", "image": "${'A'.repeat(MAX_BODY)}"}`],
  ])('answers a JSON body with %s: %i naming %s', async (_name, status, param, body) => {
    const response = await fetch(`${gateway.url}/v1/vision/detect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { param } });
  });

  it('lets go of an upload the client cuts off mid-image; the next one is served', async () => {
    const boundary = 'vmm-vision-upload';
    const url = new URL(`${gateway.url}/v1/vision/detect`);
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    req.on('error', () => undefined);
    const image = await png(640, 480);
    req.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\ndetector\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n` +
        'Content-Type: image/png\r\n\r\n',
    );
    // Half the image, written out to the socket, then the client goes away.
    await new Promise<void>((resolve) => req.write(image.subarray(0, image.length >> 1), () => resolve()));
    req.destroy();
    await waitFor(
      'the next upload to be served',
      async () => (await post('/v1/vision/detect', form({ model: 'detector' }, image, false))).status === 200,
      { timeoutMs: 10_000 },
    );
  });
});
