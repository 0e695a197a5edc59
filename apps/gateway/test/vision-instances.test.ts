// /v1/vision/segment, /v1/vision/pose and /v1/vision/remove-background through a real worker
// process on loopback, with the demo YOLOv8-seg, -pose and matting fixtures: JSON and multipart
// (relayed and held) answer alike, masks come as COCO RLE over the image, outlines and keypoints
// where they belong, a cut-out as a PNG with alpha; every wrong body, image or model is a clear
// 4xx in OpenAI's error shape; requests are counted by task.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import {
  detectorColours,
  drawSquares,
  writeClassifierFolder,
  writeDetectorFolder,
  writeMattingFolder,
  writePoseFolder,
  writeSegmenterFolder,
} from '@vmm/model-fixtures';
import { parsePrometheusText } from '@vmm/test-support';
import sharp from 'sharp';
import { cpuWorkers, gatewayConfig, useGateway, useWorkerOn } from './harness.js';

const workers = useWorkerOn((dir) => {
  writeSegmenterFolder(join(dir, 'seg'));
  writePoseFolder(join(dir, 'pose'), { staticBatch: true });
  writeDetectorFolder(join(dir, 'detector'));
  writeClassifierFolder(join(dir, 'classifier'));
  writeMattingFolder(join(dir, 'matting'));
});
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers), { maxBodyBytes: 512 * 1024 }));

const WIDTH = 320;
const HEIGHT = 240;
const png = () =>
  sharp(
    drawSquares(WIDTH, HEIGHT, [
      { x: 40, y: 60, size: 50, rgb: detectorColours[2]!.rgb },
      { x: 200, y: 100, size: 70, rgb: detectorColours[0]!.rgb },
    ]).data,
    { raw: { width: WIDTH, height: HEIGHT, channels: 3 } },
  )
    .png()
    .toBuffer();

const postJson = (path: string, body: unknown) =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** A form of `fields` with the image put before or after them. */
function form(fields: Record<string, string>, image: Buffer, imageFirst: boolean): FormData {
  const body = new FormData();
  const addImage = () => body.append('image', new Blob([image], { type: 'image/png' }), 'squares.png');
  if (imageFirst) addImage();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  if (!imageFirst) addImage();
  return body;
}

const postForm = (path: string, body: FormData) => fetch(`${gateway.url}${path}`, { method: 'POST', body });
const withoutTimings = (answer: unknown) => ({ ...(answer as object), timings: undefined });

interface SegmentAnswer {
  model: string;
  segments: {
    label: string;
    box: { x1: number; y1: number; x2: number; y2: number };
    mask: { size: [number, number]; counts: number[]; area: number };
    polygons?: number[][];
  }[];
  image: { width: number; height: number };
}

describe('/v1/vision/segment', () => {
  it('answers each square with its mask as COCO RLE over the image, and its outline when asked', async () => {
    const image = await png();
    const response = await postJson('/v1/vision/segment', {
      model: 'seg',
      image: image.toString('base64'),
      polygons: true,
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as SegmentAnswer;
    expect(answer.model).toBe('seg');
    expect(answer.image).toEqual({ width: WIDTH, height: HEIGHT });
    const red = answer.segments.find((s) => s.label === 'red')!;
    expect(red.mask.size).toEqual([HEIGHT, WIDTH]);
    expect(red.mask.area).toBe(70 * 70);
    // Column-major: 200 columns of unset pixels and 100 more rows down the next, then 70 set.
    expect(red.mask.counts.slice(0, 2)).toEqual([200 * HEIGHT + 100, 70]);
    expect(red.mask.counts.reduce((a, b) => a + b, 0)).toBe(WIDTH * HEIGHT);
    expect(red.polygons).toEqual([[270, 100, 270, 170, 200, 170, 200, 100]]);
    const plain = (await (
      await postJson('/v1/vision/segment', { model: 'seg', image: image.toString('base64') })
    ).json()) as SegmentAnswer;
    expect(plain.segments.every((s) => s.polygons === undefined)).toBe(true);
  });

  it('answers a form, relayed (model first) or held (model after), as the JSON body', async () => {
    const image = await png();
    const fields = { model: 'seg', polygons: 'true', confidence_threshold: '0.3' };
    const [json, relayed, held] = await Promise.all([
      postJson('/v1/vision/segment', {
        model: 'seg',
        image: image.toString('base64'),
        polygons: true,
        confidence_threshold: 0.3,
      }),
      postForm('/v1/vision/segment', form(fields, image, false)),
      postForm('/v1/vision/segment', form(fields, image, true)),
    ]);
    expect([json.status, relayed.status, held.status]).toEqual([200, 200, 200]);
    const [a, b, c] = await Promise.all([json.json(), relayed.json(), held.json()]);
    expect(withoutTimings(b)).toEqual(withoutTimings(a));
    expect(withoutTimings(c)).toEqual(withoutTimings(a));
  });
});

describe('/v1/vision/pose', () => {
  it('answers each person with 17 named keypoints and the skeleton, JSON and multipart alike', async () => {
    const image = await png();
    const [json, relayed] = await Promise.all([
      postJson('/v1/vision/pose', { model: 'pose', image: image.toString('base64') }),
      postForm('/v1/vision/pose', form({ model: 'pose' }, image, false)),
    ]);
    expect([json.status, relayed.status]).toEqual([200, 200]);
    const answer = (await json.json()) as {
      poses: {
        label: string;
        score: number;
        keypoints: { name: string; x: number; y: number; score: number }[];
      }[];
      skeleton: [number, number][];
    };
    expect(answer.poses).toHaveLength(2);
    expect(answer.poses[0]!.label).toBe('person');
    expect(answer.poses[0]!.keypoints.map((k) => k.name).slice(0, 3)).toEqual([
      'nose',
      'left_eye',
      'right_eye',
    ]);
    expect(answer.skeleton).toHaveLength(19);
    expect(answer.skeleton).toContainEqual([5, 6]);
    expect(withoutTimings(await relayed.json())).toEqual(withoutTimings(answer));
  });
});

describe('/v1/vision/remove-background', () => {
  it('answers a cut-out PNG with alpha by default, the same relayed from a form', async () => {
    const image = await png();
    const [json, relayed] = await Promise.all([
      postJson('/v1/vision/remove-background', { model: 'matting', image: image.toString('base64') }),
      postForm('/v1/vision/remove-background', form({ model: 'matting' }, image, false)),
    ]);
    expect([json.status, relayed.status]).toEqual([200, 200]);
    expect(json.headers.get('content-type')).toBe('image/png');
    expect(json.headers.get('x-vmm-image-size')).toBe(`${WIDTH}x${HEIGHT}`);
    const foreground = Number(json.headers.get('x-vmm-foreground'));
    // Two squares, 50² and 70², of 320 × 240, give or take their blurred edges.
    expect(Math.abs(foreground - (50 * 50 + 70 * 70) / (WIDTH * HEIGHT))).toBeLessThan(0.01);
    const cutout = Buffer.from(await json.arrayBuffer());
    expect(Buffer.from(await relayed.arrayBuffer()).equals(cutout)).toBe(true);
    const { data, info } = await sharp(cutout).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: WIDTH, height: HEIGHT, channels: 4 });
    const alphaAt = (x: number, y: number) => data[(y * WIDTH + x) * 4 + 3];
    expect([alphaAt(235, 135), alphaAt(5, 5)]).toEqual([255, 0]);
  });

  it('answers the mask as a grey PNG, base64 in JSON when asked, and RLE', async () => {
    const image = (await png()).toString('base64');
    const mask = await postJson('/v1/vision/remove-background', { model: 'matting', image, output: 'mask' });
    expect(mask.status).toBe(200);
    expect(await sharp(Buffer.from(await mask.arrayBuffer())).metadata()).toMatchObject({ channels: 1 });
    const b64 = await postJson('/v1/vision/remove-background', {
      model: 'matting',
      image,
      output: 'mask',
      response_format: 'b64_json',
    });
    const answer = (await b64.json()) as { b64_png: string; foreground: number; image: object };
    expect(answer.image).toEqual({ width: WIDTH, height: HEIGHT });
    expect((await sharp(Buffer.from(answer.b64_png, 'base64')).metadata()).width).toBe(WIDTH);
    const rle = await postJson('/v1/vision/remove-background', { model: 'matting', image, output: 'rle' });
    const runs = (await rle.json()) as { mask: { size: number[]; counts: number[]; area: number } };
    expect(runs.mask.size).toEqual([HEIGHT, WIDTH]);
    expect(runs.mask.counts.reduce((a, b) => a + b, 0)).toBe(WIDTH * HEIGHT);
    expect(Math.abs(runs.mask.area - (50 * 50 + 70 * 70))).toBeLessThan(400);
  });

  it('refuses an unknown output and a model of another task', async () => {
    const image = (await png()).toString('base64');
    const bad = await postJson('/v1/vision/remove-background', { model: 'matting', image, output: 'jpeg' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/output/);
    const wrong = await postJson('/v1/vision/remove-background', { model: 'seg', image });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toMatch(
      /\/v1\/vision\/segment/,
    );
    const back = await postJson('/v1/vision/detect', { model: 'matting', image });
    expect(((await back.json()) as { error: { message: string } }).error.message).toMatch(
      /\/v1\/vision\/remove-background/,
    );
  });
});

describe('refusals', () => {
  it.each([
    ['an unknown field', { model: 'seg', image: 'AA==', mask_format: 'png' }, /mask_format/],
    ['polygons that are not a boolean', { model: 'seg', image: 'AA==', polygons: 'yes' }, /polygons/],
    ['a confidence past 1', { model: 'seg', image: 'AA==', confidence_threshold: 2 }, /confidence_threshold/],
    ['no image', { model: 'seg' }, /image/],
  ])('refuses %s with 400 in OpenAI’s shape', async (_name, body, field) => {
    const response = await postJson('/v1/vision/segment', body);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: { message: string; type: string } };
    expect(answer.error.message).toMatch(field);
    expect(answer.error.type).toBe('invalid_request_error');
  });

  it('refuses bytes that are no image with 400', async () => {
    for (const path of ['/v1/vision/segment', '/v1/vision/pose']) {
      const model = path.endsWith('pose') ? 'pose' : 'seg';
      const response = await postJson(path, { model, image: Buffer.from('not an image').toString('base64') });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/image/);
    }
  });

  it('refuses a model of another task with 400 naming the route that serves it', async () => {
    const image = (await png()).toString('base64');
    const cases = [
      ['/v1/vision/segment', 'detector', /\/v1\/vision\/detect/],
      ['/v1/vision/pose', 'seg', /\/v1\/vision\/segment/],
      ['/v1/vision/detect', 'pose', /\/v1\/vision\/pose/],
      ['/v1/vision/segment', 'classifier', /\/v1\/vision\/classify/],
    ] as const;
    for (const [path, model, route] of cases) {
      const response = await postJson(path, { model, image });
      expect({ path, model, status: response.status }).toEqual({ path, model, status: 400 });
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(route);
    }
  });

  it('refuses a model that does not exist with 404', async () => {
    const response = await postJson('/v1/vision/pose', { model: 'no-such-pose', image: 'AA==' });
    expect(response.status).toBe(404);
  });
});

describe('metrics', () => {
  it('counts segmentation and pose requests by task', async () => {
    const image = (await png()).toString('base64');
    for (const [path, model] of [
      ['/v1/vision/segment', 'seg'],
      ['/v1/vision/pose', 'pose'],
    ] as const)
      expect((await postJson(path, { model, image })).status).toBe(200);
    const text = parsePrometheusText(await (await fetch(`${gateway.url}/metrics`)).text());
    const count = (model: string, task: string) =>
      text.samples
        .filter(
          (s) => s.name === 'vmm_vision_requests_total' && s.labels.model === model && s.labels.task === task,
        )
        .reduce((sum, s) => sum + s.value, 0);
    expect(count('seg:latest', 'segment')).toBeGreaterThan(0);
    expect(count('pose:latest', 'pose')).toBeGreaterThan(0);
  });
});
