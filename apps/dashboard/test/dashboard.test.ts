// The dashboard in a real browser: Debian's Chromium driven by playwright-core, against the
// gateway (serving the built pages), a worker and the batch runner as processes on loopback.
// Each page is opened, used as a person would, and photographed into test-output/ (ignored by
// git); the console must stay free of errors in every normal flow.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  drawSquares,
  writeBertFolder,
  writeClassifierFolder,
  writeDetectorFolder,
  writeLlamaFolder,
  writeVlmFolder,
  writeMattingFolder,
  writePoseFolder,
  writeSegmenterFolder,
} from '@vmm/model-fixtures';
import {
  appMain,
  removeRedisPrefix,
  startProcess,
  type StartedProcess,
  startWorkerProcess,
  waitFor,
} from '@vmm/test-support';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';

const here = fileURLToPath(new URL('..', import.meta.url));
const dist = join(here, 'dist');
const shots = join(here, 'test-output');
const root = mkdtempSync(join(tmpdir(), 'vmm-dashboard-'));
const models = join(root, 'models');
const squaresPng = join(root, 'squares.png');
const notAnImage = join(root, 'notes.txt');
const prefix = `vmm-dashboard-${process.pid}`;
const KEY = 'dashboard-test-key';

let worker: StartedProcess & { port: number };
let gateway: StartedProcess;
let keyedGateway: StartedProcess;
let runner: StartedProcess;
let browser: Browser;
let url: string;
let keyedUrl: string;

const gatewayEnv = (workerPort: number, extra: Record<string, string> = {}) => ({
  VMM_WORKERS: `cpu=127.0.0.1:${workerPort}`,
  VMM_HTTP_PORT: '0',
  VMM_BATCH_PREFIX: prefix,
  VMM_DASHBOARD_DIR: dist,
  VMM_POLL_INTERVAL_MS: '300',
  LOG_LEVEL: 'fatal',
  ...extra,
});

beforeAll(async () => {
  if (!existsSync('/usr/bin/chromium'))
    throw new Error("Debian's Chromium is missing: apt-get install -y chromium (.ci/run installs it)");
  mkdirSync(shots, { recursive: true });
  // With a variant that sorts before `:latest`, as the demo set has.
  writeLlamaFolder(join(models, 'tiny-llama'), { variants: ['fp32', 'fp16'] });
  writeDetectorFolder(join(models, 'yolov8n-squares'));
  writeClassifierFolder(join(models, 'colour-classifier'));
  writeSegmenterFolder(join(models, 'yolov8n-seg-squares'));
  writePoseFolder(join(models, 'yolov8n-pose-squares'));
  writeMattingFolder(join(models, 'backdrop-cutout'));
  writeBertFolder(join(models, 'mini-embed'));
  // Named to sort after tiny-llama: the pages' default text model stays the first `:latest`.
  writeVlmFolder(join(models, 'vlm'), { layout: 'idefics3', processor: { longestEdge: 1024 } });
  const image = drawSquares(480, 320, [
    { x: 40, y: 40, size: 100, rgb: [230, 20, 20] },
    { x: 250, y: 120, size: 150, rgb: [20, 20, 230] },
  ]);
  await sharp(Buffer.from(image.data), { raw: { width: 480, height: 320, channels: 3 } })
    .png()
    .toFile(squaresPng);
  writeFileSync(notAnImage, 'these are notes, not pixels');
  worker = await startWorkerProcess(models);
  gateway = await startProcess(appMain.gateway, gatewayEnv(worker.port), /listening on http:\/\/[^:]+:(\d+)/);
  keyedGateway = await startProcess(
    appMain.gateway,
    gatewayEnv(worker.port, { VMM_API_KEYS: KEY }),
    /listening on http:\/\/[^:]+:(\d+)/,
  );
  runner = await startProcess(
    appMain.batchRunner,
    { VMM_WORKERS: `cpu=127.0.0.1:${worker.port}`, VMM_BATCH_PREFIX: prefix, LOG_LEVEL: 'warn' },
    /vmm-batch-runner running/,
  );
  url = `http://127.0.0.1:${gateway.match[1]}`;
  keyedUrl = `http://127.0.0.1:${keyedGateway.match[1]}`;
  await waitFor('the gateway to see its worker', async () => (await fetch(`${url}/readyz`)).ok, {
    timeoutMs: 30_000,
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await runner?.stop();
  await keyedGateway?.stop();
  await gateway?.stop();
  await worker?.stop();
  await removeRedisPrefix(prefix).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  /** Console errors and uncaught exceptions so far. */
  errors: string[];
  close(): Promise<void>;
}

async function open(path: string, options: { base?: string; width?: number } = {}): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('response', (response) => {
    if (response.status() === 401) errors.push(`401 from ${response.url()}`);
  });
  await page.goto(`${options.base ?? url}/${path}`);
  return { page, errors, close: () => context.close() };
}

const shoot = (page: Page, name: string) =>
  page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

describe('the dashboard', () => {
  it('opens at / on the models page: every model with its task, backend, size and state', async () => {
    const { page, errors, close } = await open('');
    try {
      await expect(page.title()).resolves.toBe('VMM');
      const row = (name: string) => page.locator(`tr[data-model="${name}"]`);
      await row('tiny-llama:latest').waitFor();
      await expect(row('tiny-llama:latest').locator('td').nth(1).textContent()).resolves.toBe(
        'text-generation',
      );
      await expect(row('yolov8n-squares:latest').locator('td').nth(1).textContent()).resolves.toBe(
        'object-detection',
      );
      await expect(row('mini-embed:latest').locator('td').nth(2).textContent()).resolves.toBe('cpu');
      // Load a model, see it loaded, unload it.
      await row('colour-classifier:latest').getByRole('button', { name: 'Load colour-classifier' }).click();
      await row('colour-classifier:latest').locator('.badge.up').waitFor();
      await shoot(page, 'models');
      await row('colour-classifier:latest').getByRole('button', { name: 'Unload colour-classifier' }).click();
      await row('colour-classifier:latest').getByText('not loaded').waitFor();
      // The model's page is chosen by its task.
      await row('yolov8n-squares:latest').getByRole('link', { name: 'yolov8n-squares' }).click();
      await page.getByRole('heading', { name: 'Detection' }).waitFor();
      expect(new URL(page.url()).hash).toBe('#/detect/yolov8n-squares:latest');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('chats with the demo LLM: the answer streams in, with TTFT and tokens/s', async () => {
    const { page, errors, close } = await open('#/chat/tiny-llama');
    try {
      await page.locator('#max-tokens').fill('200');
      // Count the answer's distinct texts as they are drawn: streamed text grows step by step.
      await page.evaluate(() => {
        const seen = new Set<string>();
        (window as unknown as { answerSteps: Set<string> }).answerSteps = seen;
        new MutationObserver(() => {
          const answer = document.querySelector('[data-testid="answer"]');
          if (answer?.textContent) seen.add(answer.textContent);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      await page.locator('#prompt').fill('Why is the sky blue?');
      // The keyboard sends: Ctrl+Enter in the message box.
      await page.locator('#prompt').press('Control+Enter');
      await page.locator('.messages li.assistant:not(.streaming)').waitFor();
      const steps = await page.evaluate(
        () => (window as unknown as { answerSteps: Set<string> }).answerSteps.size,
      );
      expect(steps).toBeGreaterThan(2);
      await expect(page.locator('.messages li.user pre').textContent()).resolves.toBe('Why is the sky blue?');
      expect((await page.locator('.messages li.assistant pre').textContent())?.length).toBeGreaterThan(0);
      await expect(page.getByTestId('stats').textContent()).resolves.toMatch(
        /^TTFT \d+ ms · \d+ tokens · [\d.]+ tok\/s$/,
      );
      await shoot(page, 'chat');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('chats about an attached picture with a model that reads images; a text model offers no attachment', async () => {
    const { page, errors, close } = await open('#/chat/vlm');
    try {
      const sent: unknown[] = [];
      page.on('request', (request) => {
        if (request.url().endsWith('/api/chat')) sent.push(request.postDataJSON());
      });
      await page.locator('#max-tokens').fill('8');
      await page.locator('#attach').setInputFiles(squaresPng);
      await expect(page.getByLabel('Attached images').textContent()).resolves.toContain('squares.png');
      await page.locator('#prompt').fill('What is in this picture?');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.locator('.messages li.assistant:not(.streaming)').waitFor();
      // The picture went with the message, as Ollama's `images`, and shows in the conversation.
      const body = sent[0] as { messages: { role: string; content: string; images?: string[] }[] };
      expect(body.messages.at(-1)?.images).toEqual([readFileSync(squaresPng).toString('base64')]);
      await page.locator('.messages li.user img.thumbnail').waitFor();
      expect(await page.getByLabel('Attached images').count()).toBe(0);
      expect((await page.locator('.messages li.assistant pre').textContent())?.length).toBeGreaterThan(0);
      await shoot(page, 'chat-image');
      // The next turn sends the conversation again, the picture in its turn.
      await page.locator('#prompt').fill('And the colours?');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.locator('.messages li.assistant:not(.streaming)').nth(1).waitFor();
      const second = sent[1] as { messages: { images?: string[] }[] };
      expect(second.messages.map((message) => message.images?.length ?? 0)).toEqual([1, 0, 0]);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
    const text = await open('#/chat/tiny-llama');
    try {
      // Its capabilities were read and say no vision: nothing to attach.
      await text.page.locator('form.composer[data-sees="false"]').waitFor();
      expect(await text.page.locator('#attach').count()).toBe(0);
    } finally {
      await text.close();
    }
  }, 90_000);

  it('completes a prompt in completion mode, cut at a stop sequence as the API cuts it', async () => {
    const generate = async (stop?: string) =>
      (
        (await (
          await fetch(`${url}/api/generate`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              model: 'tiny-llama',
              prompt: 'Once upon a time',
              stream: false,
              options: { temperature: 0, top_p: 0.9, num_predict: 64, ...(stop ? { stop: [stop] } : {}) },
            }),
          })
        ).json()) as { response: string }
      ).response;
    // Greedy decoding: the same text every time. A stop sequence from its middle cuts it there.
    const full = await generate();
    // Three characters from past the start, without the page's separator (|) or edge spaces.
    const at = [...Array(Math.max(0, full.length - 3)).keys()].find(
      (i) => i >= 12 && /^[^|\s][^|]?[^|\s]$/u.test(full.slice(i, i + 3)),
    );
    expect(at).toBeDefined();
    const stop = full.slice(at, (at ?? 0) + 3);
    const cut = await generate(stop);
    expect(cut.length).toBeLessThan(full.length);
    const { page, errors, close } = await open('#/chat/tiny-llama');
    try {
      await page.getByLabel('Completion').check();
      await page.getByRole('heading', { name: 'Completion' }).waitFor();
      await page.locator('#max-tokens').fill('64');
      await page.locator('#temperature').fill('0');
      await page.locator('#stop').fill(stop);
      await page.locator('#prompt').fill('Once upon a time');
      await page.getByRole('button', { name: 'Send' }).click();
      await page
        .getByTestId('stats')
        .getByText(/tok\/s$/)
        .waitFor();
      expect(await page.getByTestId('answer').textContent()).toBe(
        stop.includes('|') ? expect.any(String) : cut,
      );
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('detects: an uploaded image comes back with its boxes drawn on the canvas', async () => {
    const { page, errors, close } = await open('#/detect/yolov8n-squares');
    try {
      await page.locator('#image').setInputFiles(squaresPng);
      const rows = page.getByTestId('detections').locator('tbody tr');
      await waitFor('two detections', async () => (await rows.count()) === 2);
      const labels = (await rows.locator('td:first-child').allTextContents()).map((t) => t.trim()).sort();
      expect(labels).toEqual(['blue', 'red']);
      await expect(page.getByTestId('timings').textContent()).resolves.toMatch(
        /^2 objects · model [\d.]+ ms/,
      );
      // The red box's label tag is painted above the square, where the image was background.
      const tag = await waitFor('the boxes on the canvas', () =>
        page.evaluate(() => {
          const canvas = document.querySelector('canvas');
          const pixel = canvas?.getContext('2d')?.getImageData(42, 30, 1, 1).data;
          return pixel && pixel[0]! > 200 && pixel[1]! < 100 ? [...pixel] : undefined;
        }),
      );
      expect(tag.slice(0, 3)).toEqual([255, 59, 48]);
      await shoot(page, 'detect');
      // A threshold above every score: the request goes again and nothing is found.
      await page.locator('#confidence').fill('1');
      await waitFor('no detections at confidence 1', async () => (await rows.count()) === 0);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('segments: each mask is laid over the image in its label’s colour, its pixels in the table', async () => {
    const { page, errors, close } = await open('#/segment/yolov8n-seg-squares');
    try {
      await page.locator('#image').setInputFiles(squaresPng);
      const rows = page.getByTestId('detections').locator('tbody tr');
      await waitFor('two segments', async () => (await rows.count()) === 2);
      const cells = await rows.evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())),
      );
      const red = cells.find((row) => row[0] === 'red')!;
      // The 100² square, an edge pixel or two lost to the scaling to 640 and back.
      expect(Number(red[3])).toBeGreaterThan(9700);
      expect(Number(red[3])).toBeLessThanOrEqual(10_201);
      // Inside the blue square the mask tints the image (its blue was 230 over 20, 20); beside it
      // the background (24, 24, 24) stays as it was.
      const [, beside] = await waitFor('the masks on the canvas', () =>
        page.evaluate(() => {
          const context = document.querySelector('canvas')?.getContext('2d');
          const at = (x: number, y: number) => [...(context?.getImageData(x, y, 1, 1).data ?? [])];
          const pixel = at(320, 200);
          // Drawn (opaque) and no longer the square's own blue: the mask is on.
          const tinted = pixel[3] === 255 && pixel.slice(0, 3).join() !== '20,20,230';
          return tinted ? [pixel, at(430, 200)] : undefined;
        }),
      );
      expect(beside!.slice(0, 3)).toEqual([24, 24, 24]);
      await shoot(page, 'segment');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('finds poses: each person’s skeleton drawn over the image, keypoints counted', async () => {
    const { page, errors, close } = await open('#/pose/yolov8n-pose-squares');
    try {
      await page.locator('#image').setInputFiles(squaresPng);
      const rows = page.getByTestId('detections').locator('tbody tr');
      await waitFor('two people', async () => (await rows.count()) === 2);
      await expect(rows.first().locator('td').nth(3).textContent()).resolves.toBe('17/17');
      await expect(page.getByTestId('timings').textContent()).resolves.toMatch(/^2 people · model/);
      // The red square's nose (0.5, 0.12 of its side from its corner) is a white dot.
      const nose = await waitFor('the skeletons on the canvas', () =>
        page.evaluate(() => {
          const pixel = document.querySelector('canvas')?.getContext('2d')?.getImageData(90, 52, 1, 1).data;
          return pixel && pixel[1]! > 200 ? [...pixel] : undefined;
        }),
      );
      expect(nose.slice(0, 3)).toEqual([255, 255, 255]);
      await shoot(page, 'pose');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('removes the background: the cut-out over the original, a slider between before and after', async () => {
    const { page, errors, close } = await open('#/remove-background/backdrop-cutout');
    try {
      await page.locator('#image').setInputFiles(squaresPng);
      const cutout = page.getByTestId('cutout');
      await cutout.waitFor();
      await expect(page.getByTestId('timings').textContent()).resolves.toMatch(
        /^foreground 2\d\.\d % · model/,
      );
      // The cut-out itself: the image's size, opaque in the red square, clear on the backdrop.
      const alpha = await waitFor('the cut-out to load', () =>
        page.evaluate(() => {
          const image = document.querySelector<HTMLImageElement>('[data-testid="cutout"]');
          if (!image?.complete || image.naturalWidth === 0) return undefined;
          const canvas = document.createElement('canvas');
          [canvas.width, canvas.height] = [image.naturalWidth, image.naturalHeight];
          const context = canvas.getContext('2d')!;
          context.drawImage(image, 0, 0);
          const at = (x: number, y: number) => context.getImageData(x, y, 1, 1).data[3];
          return { width: image.naturalWidth, inside: at(90, 90), backdrop: at(10, 300) };
        }),
      );
      expect(alpha).toEqual({ width: 480, inside: 255, backdrop: 0 });
      await expect(cutout.evaluate((image) => image.style.clipPath)).resolves.toBe('inset(0px 0px 0px 50%)');
      await page.locator('#split').fill('20');
      await expect(cutout.evaluate((image) => image.style.clipPath)).resolves.toBe('inset(0px 0px 0px 20%)');
      await shoot(page, 'remove-background');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('shows an error as the API sends it', async () => {
    const { page, errors, close } = await open('#/detect/yolov8n-squares');
    try {
      await page.locator('#image').setInputFiles(notAnImage);
      const form = new FormData();
      form.set('model', 'yolov8n-squares');
      form.set('image', new Blob(['these are notes, not pixels']), 'notes.txt');
      const expected = (await (
        await fetch(`${url}/v1/vision/detect`, { method: 'POST', body: form })
      ).json()) as {
        error: { message: string };
      };
      await expect(page.getByRole('alert').textContent()).resolves.toBe(expected.error.message);
      // The browser logs the failed request itself; nothing else may be logged.
      expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('classifies and embeds', async () => {
    const { page, errors, close } = await open('#/classify/colour-classifier');
    try {
      await page.locator('#image').setInputFiles(squaresPng);
      await page.getByTestId('classes').locator('li').first().waitFor();
      await expect(page.getByTestId('classes').locator('.bar-label').first().textContent()).resolves.toBe(
        'black',
      );
      await shoot(page, 'classify');
      await page.goto(`${url}/#/embed/mini-embed`);
      await page.getByRole('button', { name: 'Embed' }).click();
      const cells = page.getByTestId('similarity').locator('tbody td');
      await cells.first().waitFor();
      expect(await cells.count()).toBe(9);
      await expect(cells.first().textContent()).resolves.toBe('1.000');
      await shoot(page, 'embed');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('shows a worker go down and come back, live', async () => {
    const { page, errors, close } = await open('#/workers');
    try {
      const state = page.getByTestId('worker-state');
      await waitFor('the worker shown up', async () => (await state.textContent()) === 'up');
      await expect(page.locator('.workers dd').nth(1).textContent()).resolves.toMatch(/^cpu \(/);
      const port = worker.port;
      await worker.stop();
      await waitFor('the worker shown down', async () => (await state.textContent()) === 'down', {
        timeoutMs: 20_000,
      });
      await shoot(page, 'workers-down');
      worker = await startWorkerProcess(models, { VMM_GRPC_PORT: String(port) });
      await waitFor('the worker shown up again', async () => (await state.textContent()) === 'up', {
        timeoutMs: 30_000,
      });
      // Traffic shows on the live charts (a point every 2 s): tokens/s above zero, a TTFT.
      const generated = await fetch(`${url}/api/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'tiny-llama',
          prompt: 'Hello',
          stream: false,
          options: { num_predict: 64 },
        }),
      });
      expect(generated.status).toBe(200);
      const legend = page.locator('.chart figcaption').first();
      await waitFor('tokens/s above zero on the chart', async () => {
        const rate = /generated: ([\d.]+) tok\/s/.exec((await legend.textContent()) ?? '');
        return rate !== null && Number(rate[1]) > 0;
      });
      const points = await page.locator('.chart polyline').first().getAttribute('points');
      expect(points?.split(' ').length).toBeGreaterThanOrEqual(2);
      await page.locator('.chart figcaption', { hasText: /mean TTFT: [\d.]+ ms/ }).waitFor();
      await shoot(page, 'workers');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 120_000);

  it('submits a batch and sees it finish, with its results to download', async () => {
    const { page, errors, close } = await open('#/batches');
    try {
      await page.getByRole('button', { name: 'Submit batch' }).click();
      const row = page.getByTestId('batches').locator('tbody tr').first();
      await waitFor(
        'the batch to complete',
        async () => (await row.getByTestId('batch-status').textContent()) === 'completed',
        {
          timeoutMs: 60_000,
        },
      );
      await expect(row.locator('td').nth(2).textContent()).resolves.toMatch(/3\/3/);
      const download = page.waitForEvent('download');
      await row.getByRole('button', { name: 'Download results' }).click();
      const file = await (await download).path();
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines.map((line) => (JSON.parse(line) as { custom_id: string }).custom_id)).toEqual([
        'request-1',
        'request-2',
        'request-3',
      ]);
      await shoot(page, 'batches');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 120_000);

  it('runs a benchmark sweep from the page and shows the stored results', async () => {
    const { page, errors, close } = await open('#/bench/tiny-llama');
    try {
      await page.locator('#levels').fill('1,2');
      await page.locator('#requests').fill('4');
      await page.locator('#bench-tokens').fill('8');
      await page.getByRole('button', { name: 'Run sweep' }).click();
      const rows = page.getByTestId('sweep').locator('tbody tr');
      await waitFor('both levels measured', async () => (await rows.count()) === 2, { timeoutMs: 60_000 });
      await expect(rows.nth(1).locator('td').first().textContent()).resolves.toBe('2');
      expect(Number(await rows.nth(0).locator('td').nth(1).textContent())).toBeGreaterThan(0);
      await page.getByRole('heading', { name: 'VMM against llama.cpp on identical weights' }).waitFor();
      await shoot(page, 'bench');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 120_000);

  it('asks once for the key of a key-protected gateway, and keeps it for the tab', async () => {
    const { page, errors, close } = await open('', { base: keyedUrl });
    try {
      await page.getByLabel('This gateway needs an API key').fill(KEY);
      await shoot(page, 'api-key');
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.locator('tr[data-model="tiny-llama:latest"]').waitFor();
      // Another page of the same tab: no second question.
      await page.getByRole('link', { name: 'Workers' }).click();
      await page.getByTestId('worker-state').waitFor();
      await page.reload();
      await page.getByTestId('worker-state').waitFor();
      expect(await page.getByLabel('This gateway needs an API key').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('says so when the key is wrong, as the API says it', async () => {
    const { page, errors, close } = await open('', { base: keyedUrl });
    try {
      await page.getByLabel('This gateway needs an API key').fill('not-the-key');
      await page.getByRole('button', { name: 'Use key' }).click();
      await expect(page.getByRole('alert').first().textContent()).resolves.toBe('invalid API key');
      expect(errors.filter((e) => !/401/.test(e))).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('says it is loading until the model list arrives, never "0 models"', async () => {
    const { page, errors, close } = await open('#/workers');
    try {
      let release = () => undefined as void;
      const held = new Promise<void>((resolve) => (release = resolve));
      await page.route('**/api/tags', async (route) => {
        await held;
        await route.continue();
      });
      await page.goto(`${url}/#/models`);
      const status = page.locator('main section [role="status"]');
      await expect(status.textContent()).resolves.toBe('loading…');
      release();
      await page.locator('tr[data-model="tiny-llama:latest"]').waitFor();
      await expect(status.textContent()).resolves.toMatch(/^[1-9]\d* models$/);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('benchmarks the text model as its author meant it by default, not a variant that sorts first', async () => {
    const { page, errors, close } = await open('#/bench');
    try {
      await page.locator('#model option[value="tiny-llama:fp16"]').waitFor({ state: 'attached' });
      await expect(page.locator('#model').inputValue()).resolves.toBe('tiny-llama:latest');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it('fits a 390 px wide screen on every page', async () => {
    const { page, errors, close } = await open('', { width: 390 });
    try {
      for (const path of [
        'models',
        'chat',
        'embed',
        'detect',
        'segment',
        'pose',
        'remove-background',
        'classify',
        'workers',
        'batches',
        'bench',
      ]) {
        await page.goto(`${url}/#/${path}`);
        await page.locator('main section').first().waitFor();
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        expect({ path, width }).toEqual({ path, width: 390 });
      }
      await page.goto(`${url}/#/models`);
      await page.locator('tr[data-model="tiny-llama:latest"]').waitFor();
      // Nothing cut off: every page's link and every model's action button lie within the screen.
      const outside = await page.evaluate(() =>
        [...document.querySelectorAll('nav a, table.models button')]
          .map((element) => ({ text: element.textContent, box: element.getBoundingClientRect() }))
          .filter(({ box }) => box.left < 0 || box.right > 390 || box.width === 0)
          .map(({ text }) => text),
      );
      expect(outside).toEqual([]);
      await shoot(page, 'models-390px');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);
});
