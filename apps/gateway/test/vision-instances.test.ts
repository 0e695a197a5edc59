// /v1/vision/segment and /v1/vision/pose through a real worker process on loopback, with the
// demo YOLOv8-seg and -pose fixtures: JSON and multipart (relayed and held) answer alike, masks
// come as COCO RLE over the image, outlines and keypoints where they belong; every wrong body,
// image or model is a clear 4xx in OpenAI's error shape; requests are counted by task.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import {
  detectorColours,
  drawSquares,
  writeClassifierFolder,
  writeDetectorFolder,
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
