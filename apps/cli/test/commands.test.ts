// Every `vmm` subcommand as a user runs it: the built command in its own process against a real
// gateway and worker (processes on loopback, fixture models), its output, files and exit codes,
// and its error paths: no server, unknown model, bad flags, a key-protected gateway.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  drawSquares,
  writeBertFolder,
  writeClassifierFolder,
  writeDetectorFolder,
  writeLlamaFolder,
  writeInChild,
  writeMattingFolder,
  writePoseFolder,
  writeSegmenterFolder,
  writeVlmFolder,
  DEMO_QWEN3,
} from '@vmm/model-fixtures';
import { removeRedisPrefix, waitFor } from '@vmm/test-support';
import sharp from 'sharp';
import {
  bin,
  closedPort,
  expectUsageError,
  type Run,
  type Server,
  startGateway,
  startServer,
  vmm as runVmm,
  words,
} from './cli-harness.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-cli-commands-'));
const prefix = `vmm-cli-commands-${process.pid}`;
const squaresPng = join(root, 'squares.png');
const secondPng = join(root, 'second.png');
let server: Server;
let keyed: { url: string; stop(): Promise<number | null> };

beforeAll(async () => {
  const models = join(root, 'models');
  writeLlamaFolder(join(models, 'tiny-llama'));
  writeDetectorFolder(join(models, 'yolov8n-squares'));
  writeClassifierFolder(join(models, 'colour-classifier'));
  writeSegmenterFolder(join(models, 'yolov8n-seg-squares'));
  writePoseFolder(join(models, 'yolov8n-pose-squares'));
  writeMattingFolder(join(models, 'backdrop-cutout'));
  writeBertFolder(join(models, 'mini-embed'));
  writeVlmFolder(join(models, 'smolvlm'), { layout: 'idefics3', processor: { longestEdge: 1024 } });
  // Its real 151 936-token vocabulary: written in a plain Node process (jest's vm is slow at it).
  writeInChild('writeQwen3Demo', join(models, DEMO_QWEN3));
  // A model whose template opens the thought (as DeepSeek R1's does): all it writes is thinking.
  writeLlamaFolder(join(models, 'thinker'));
  const thinkerConfig = join(models, 'thinker', 'tokenizer_config.json');
  writeFileSync(
    thinkerConfig,
    JSON.stringify({
      ...JSON.parse(readFileSync(thinkerConfig, 'utf8')),
      chat_template:
        "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + eos_token }}{% endfor %}" +
        '{% if add_generation_prompt %}{% if enable_thinking is defined and enable_thinking is false %}' +
        "{{ '<think>\\n\\n</think>\\n\\n' }}{% else %}{{ '<think>\\n' }}{% endif %}{% endif %}",
    }),
  );
  // Random weights seldom stop: answers end after 8 tokens (generation_config's max_new_tokens).
  for (const model of [DEMO_QWEN3, 'smolvlm']) {
    const generation = join(models, model, 'generation_config.json');
    writeFileSync(
      generation,
      JSON.stringify({ ...JSON.parse(readFileSync(generation, 'utf8')), max_new_tokens: 8 }),
    );
  }
  const write = (path: string, squares: Parameters<typeof drawSquares>[2]) => {
    const image = drawSquares(480, 320, squares);
    return sharp(Buffer.from(image.data), { raw: { width: 480, height: 320, channels: 3 } })
      .png()
      .toFile(path);
  };
  await write(squaresPng, [
    { x: 40, y: 40, size: 100, rgb: [230, 20, 20] },
    { x: 250, y: 120, size: 150, rgb: [20, 20, 230] },
  ]);
  await write(secondPng, [{ x: 300, y: 30, size: 60, rgb: [20, 230, 20] }]);
  server = await startServer(models, prefix);
  const gateway = await startGateway(server.worker.port, prefix, { VMM_API_KEYS: 'cli-test-key' });
  keyed = { url: `http://127.0.0.1:${gateway.match[1]}`, stop: () => gateway.stop() };
  // Fixtures, two servers and a key-protected gateway: more than 30 s on a busy machine.
}, 120_000);

afterAll(async () => {
  await keyed?.stop();
  await server?.stop();
  await removeRedisPrefix(prefix).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

const vmm = (args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) =>
  runVmm(args, { VMM_HOST: server.url, ...options.env }, { stdin: options.stdin });

type JsonBody = ReturnType<typeof JSON.parse>;

/** The run succeeded with nothing on stderr. */
function ok(run: { code: number | null; stderr: string }): void {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
}

describe('models', () => {
  it('vmm list shows every model with its task, size and quantization; --json gives the tags', async () => {
    const run = await vmm(['list']);
    ok(run);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+TASK\s+ID\s+SIZE\s+QUANTIZATION\s+MODIFIED$/);
    expect(run.stdout).toMatch(
      /^tiny-llama:latest\s+text-generation\s+[0-9a-f]{12}\s+[\d.]+ [kM]B\s+F32\s+/m,
    );
    expect(run.stdout).toMatch(/^yolov8n-squares:latest\s+object-detection\s/m);
    expect(run.stdout).toMatch(/^colour-classifier:latest\s+image-classification\s/m);
    expect(run.stdout).toMatch(/^mini-embed:latest\s+embedding\s/m);
    const json = await vmm(['ls', '--json']);
    ok(json);
    const names = (JSON.parse(json.stdout) as JsonBody).models.map((m: { name: string }) => m.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'tiny-llama:latest',
        'yolov8n-squares:latest',
        'colour-classifier:latest',
        'mini-embed:latest',
      ]),
    );
  });

  it('vmm show prints a text model’s shape and capabilities, and a detector’s labels', async () => {
    const text = await vmm(['show', 'tiny-llama']);
    ok(text);
    expect(text.stdout).toMatch(/architecture\s+llama/);
    expect(text.stdout).toMatch(/context length\s+512/);
    expect(text.stdout).toMatch(/Capabilities\n\s+completion\n\s+tools/);
    const vision = await vmm(['show', 'yolov8n-squares']);
    ok(vision);
    expect(vision.stdout).toMatch(/input size\s+640×640/);
    expect(vision.stdout).toMatch(/Labels \(80\)\n\s+red, green, blue, yellow/);
    const json = await vmm(['show', 'mini-embed', '--json']);
    expect((JSON.parse(json.stdout) as JsonBody).capabilities).toEqual(['embedding']);
  });

  it('vmm ps lists a loaded model; vmm stop unloads it', async () => {
    ok(await vmm(['run', 'tiny-llama', 'hello']));
    const loaded = async () => {
      const run = await vmm(['ps', '--json']);
      return (JSON.parse(run.stdout) as JsonBody).models.some(
        (m: { name: string }) => m.name === 'tiny-llama:latest',
      );
    };
    // ps reports the workers' state at the gateway's last poll: wait for one that saw the load.
    await waitFor('ps to list tiny-llama', loaded, { timeoutMs: 15_000, intervalMs: 200 });
    const table = await vmm(['ps']);
    ok(table);
    expect(table.stdout).toMatch(/^NAME\s+TASK\s+WORKER\s+SIZE\s+SEQUENCES\s+UNTIL$/m);
    expect(table.stdout).toMatch(
      /^tiny-llama:latest\s+text-generation\s+cpu@127\.0\.0\.1:\d+\s.*(Forever|\d+ minutes from now)$/m,
    );
    ok(await vmm(['stop', 'tiny-llama']));
    await waitFor('ps to drop tiny-llama', async () => !(await loaded()), {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
  });

  it('vmm pull reports success for a model the server has, and the server’s refusal otherwise', async () => {
    const present = await vmm(['pull', 'tiny-llama']);
    ok(present);
    expect(present.stdout).toBe('success\n');
    const json = await vmm(['pull', 'tiny-llama', '--json']);
    expect(JSON.parse(json.stdout.trim())).toEqual({ status: 'success' });
    const missing = await vmm(['pull', 'no-such-model']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^vmm: model "no-such-model:latest" is not in the models directory.*\n$/);
  });

  it('vmm cp names a model twice; vmm rm deletes it, and says so when it is gone', async () => {
    const copied = await vmm(['cp', 'tiny-llama', 'my-llama']);
    ok(copied);
    expect(copied.stdout).toBe("copied 'tiny-llama' to 'my-llama'\n");
    expect((await vmm(['ls'])).stdout).toMatch(/^my-llama:latest\s+text-generation\s/m);
    const removed = await vmm(['rm', 'my-llama']);
    ok(removed);
    expect(removed.stdout).toBe("deleted 'my-llama'\n");
    expect((await vmm(['ls'])).stdout).not.toMatch(/^my-llama/m);
    const again = await vmm(['rm', 'my-llama']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('vmm: model "my-llama:latest" not found\n');
  });
});

describe('vmm run with a prompt', () => {
  it('streams the answer and exits; --verbose adds the timings', async () => {
    const run = await vmm(words('run tiny-llama Why is the sky blue? --verbose'));
    expect(run.code).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(1);
    expect(run.stdout.endsWith('\n')).toBe(true);
    expect(run.stderr).toMatch(/eval count:\s+\d+ token\(s\)\neval rate:\s+[\d.]+ tokens\/s/);
  });

  it('reads the prompt from stdin when none is given', async () => {
    const run = await vmm(['run', 'tiny-llama', '--format', 'json'], { stdin: 'Give me JSON.\n' });
    ok(run);
    // --format json: constrained decoding makes even random weights write JSON.
    expect(() => JSON.parse(run.stdout) as unknown).not.toThrow();
  });

  it('passes --think to a thinking model and prints its thought apart, or hides it', async () => {
    // `--think hi`: the word after the flag is the prompt's (not a level).
    const shown = await vmm(['run', 'thinker', '--think', 'hi', '--verbose']);
    ok({ ...shown, stderr: '' });
    expect(shown.stdout).toMatch(/^Thinking\.\.\.\n.+/s);
    expect(shown.stdout).not.toContain('...done thinking.');
    expect(shown.stderr).toMatch(/prompt eval count:\s+\d+/);
    const hidden = await vmm(['run', 'thinker', '--hidethinking', 'hi']);
    ok(hidden);
    expect(hidden.stdout).toBe('');
    // Qwen 3's real template: its own switch turns the thought off.
    const off = await vmm(['run', 'qwen3-demo', '--think=false', 'hi']);
    ok(off);
    expect(off.stdout).not.toContain('Thinking...');
    expect(off.stdout.length).toBeGreaterThan(1);
    const refused = await vmm(['run', 'tiny-llama', '--think', 'hi']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('does not think');
  });

  it('sends --image pictures to a model that reads images; a text model refuses them (exit 1)', async () => {
    const run = (image: string) =>
      vmm(['run', 'smolvlm', '--image', image, '--verbose', 'What', 'is', 'this?'], {});
    const squares = await run(squaresPng);
    ok({ ...squares, stderr: '' });
    // A 480×320 picture is 2×2 tiles and the whole at a long side of 1024: 320 image rows.
    const count = Number(/prompt eval count:\s+(\d+)/.exec(squares.stderr)?.[1]);
    expect(count).toBeGreaterThan(320);
    const second = await run(secondPng);
    expect(second.stdout).not.toBe(squares.stdout);
    const two = await vmm([
      'run',
      'smolvlm',
      '--image',
      squaresPng,
      '--image',
      secondPng,
      '--verbose',
      'Compare.',
    ]);
    expect(Number(/prompt eval count:\s+(\d+)/.exec(two.stderr)?.[1])).toBeGreaterThan(640);
    const text = await vmm(['run', 'tiny-llama', '--image', squaresPng, 'hi']);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/'tiny-llama' does not read images/);
    const missing = await vmm(['run', 'smolvlm', '--image', join(root, 'nope.png'), 'hi']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.png: no such file/);
  });

  it('names the right command for a model that does not write text (exit 1)', async () => {
    const run = await vmm(['run', 'yolov8n-squares', 'hi']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "vmm: 'yolov8n-squares' is an object-detection model, not a text model: use vmm detect\n",
    );
    const pose = await vmm(['run', 'yolov8n-pose-squares', 'hi']);
    expect(pose.stderr).toBe(
      "vmm: 'yolov8n-pose-squares' is a pose-estimation model, not a text model: use vmm pose\n",
    );
  });
});

describe('vision and embeddings', () => {
  it('vmm detect prints the boxes and draws them with --out', async () => {
    const out = join(root, 'annotated.png');
    const run = await vmm(['detect', 'yolov8n-squares', squaresPng, '--out', out]);
    ok(run);
    expect(run.stdout).toMatch(/^LABEL\s+SCORE\s+BOX \(x1, y1, x2, y2\)$/m);
    expect(run.stdout).toMatch(/^red\s+0\.\d+\s+4[01], 4[01], 1(39|40|41), 1(39|40|41)$/m);
    expect(run.stdout).toMatch(/^blue\s+0\.\d+\s+25[01], 12[01], (399|400), 2(69|70)$/m);
    // The drawn image: the blue box's label sits on a filled tag above the square, over what was
    // the dark background (24, 24, 24).
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([480, 320]);
    const at = (x: number, y: number) => (y * 480 + x) * info.channels;
    const pixel = (x: number, y: number) => [...data.subarray(at(x, y), at(x, y) + 3)];
    const [red = 0, , blue = 0] = pixel(252, 108);
    expect({ red: red < 60, blue: blue > 200 }).toEqual({ red: true, blue: true });
    expect(pixel(10, 300)).toEqual([24, 24, 24]); // far from any box: untouched
  });

  it('vmm detect --json on several images, and --out as a folder', async () => {
    const folder = join(root, 'drawn');
    const run = await vmm(['detect', 'yolov8n-squares', squaresPng, secondPng, '--json', '--out', folder]);
    ok(run);
    const answers = JSON.parse(run.stdout) as JsonBody;
    expect(
      answers.map((a: { detections: { label: string }[] }) => a.detections.map((d) => d.label).sort()),
    ).toEqual([['blue', 'red'], ['green']]);
    expect(existsSync(join(folder, 'squares.annotated.png'))).toBe(true);
    expect(existsSync(join(folder, 'second.annotated.png'))).toBe(true);
  });

  it('vmm segment prints each mask’s pixels and lays the masks over the image with --out', async () => {
    const out = join(root, 'segmented.png');
    const run = await vmm(['segment', 'yolov8n-seg-squares', squaresPng, '--out', out]);
    ok(run);
    expect(run.stdout).toMatch(/^LABEL\s+SCORE\s+BOX \(x1, y1, x2, y2\)\s+MASK PIXELS$/m);
    // The squares are 100² and 150²; scaled to the model's 640 and back, an edge may move a pixel.
    expect(run.stdout).toMatch(
      /^red\s+0\.\d+\s+4[01], 4[01], 1(39|40|41), 1(39|40|41)\s+(9[89]\d\d|10[01]\d\d)$/m,
    );
    expect(run.stdout).toMatch(/^blue\s+0\.\d+\s+25[01], 12[01], (399|400), 2(69|70)\s+22[2-6]\d\d$/m);
    const [original, drawn] = await Promise.all(
      [squaresPng, out].map((file) => sharp(file).raw().toBuffer({ resolveWithObject: true })),
    );
    const pixel = (image: { data: Buffer; info: { channels: number } } | undefined, x: number, y: number) => {
      const at = (y * 480 + x) * image!.info.channels;
      return [...image!.data.subarray(at, at + 3)];
    };
    // Inside the blue square the mask's tint changes the colour; beside it nothing does.
    expect(pixel(drawn, 320, 200)).not.toEqual(pixel(original, 320, 200));
    expect(pixel(drawn, 430, 200)).toEqual(pixel(original, 430, 200));
    const json = await vmm(['segment', 'yolov8n-seg-squares', squaresPng, '--json', '--polygons']);
    ok(json);
    const answer = JSON.parse(json.stdout) as { segments: { label: string; polygons: number[][] }[] };
    const [outline, ...more] = answer.segments.find((s) => s.label === 'red')?.polygons ?? [];
    expect(more).toEqual([]);
    // A square's outline: its four corners, each within a pixel of the drawn square's.
    expect(outline).toHaveLength(8);
    [140, 40, 140, 140, 40, 140, 40, 40].forEach((value, i) =>
      expect(Math.abs(outline![i]! - value)).toBeLessThanOrEqual(1),
    );
  });

  it('vmm pose prints the keypoints seen and draws the skeletons with --out', async () => {
    const out = join(root, 'posed.png');
    const run = await vmm(['pose', 'yolov8n-pose-squares', squaresPng, '--out', out]);
    ok(run);
    expect(run.stdout).toMatch(/^LABEL\s+SCORE\s+BOX \(x1, y1, x2, y2\)\s+KEYPOINTS SEEN$/m);
    expect(run.stdout.match(/^person\s+0\.\d+\s+[\d, ]+\s+17\/17$/gm)).toHaveLength(2);
    // The red square's nose (0.5, 0.12 of its side) is a white dot.
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const at = (52 * 480 + 90) * info.channels;
    expect([...data.subarray(at, at + 3)]).toEqual([255, 255, 255]);
    const json = await vmm(['pose', 'yolov8n-pose-squares', squaresPng, '--json']);
    ok(json);
    const answer = JSON.parse(json.stdout) as {
      poses: { keypoints: { name: string }[] }[];
      skeleton: unknown[];
    };
    expect(answer.poses[0]?.keypoints.map((k) => k.name)[0]).toBe('nose');
    expect(answer.skeleton).toHaveLength(19);
  });

  it('vmm remove-background writes the cut-out PNG, or with --mask the matte', async () => {
    const out = join(root, 'cut.png');
    const run = await vmm(['remove-background', 'backdrop-cutout', squaresPng, '--out', out]);
    ok(run);
    expect(run.stdout).toMatch(/squares\.png → .*cut\.png \(foreground 2[0-9]\.\d % of the image\)/);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: 480, height: 320, channels: 4 });
    const alphaAt = (x: number, y: number) => data[(y * 480 + x) * 4 + 3];
    // Inside the red square opaque, on the backdrop clear.
    expect([alphaAt(90, 90), alphaAt(10, 300)]).toEqual([255, 0]);
    const mask = join(root, 'cut-mask.png');
    ok(await vmm(['rembg', 'backdrop-cutout', squaresPng, '--mask', '--out', mask]));
    expect(await sharp(mask).metadata()).toMatchObject({ channels: 1, width: 480, height: 320 });
  });

  it('vmm segment on a detector is refused, naming the route that serves it (exit 1)', async () => {
    const run = await vmm(['segment', 'yolov8n-squares', squaresPng]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/object detector.*\/v1\/vision\/detect/);
  });

  it('vmm classify prints the top classes', async () => {
    const run = await vmm(['classify', 'colour-classifier', squaresPng, '-k', '2']);
    ok(run);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^black\s+0\.\d{3}$/);
  });

  it('vmm embed prints vectors and similarities; --json the vectors whole', async () => {
    const run = await vmm(['embed', 'mini-embed', 'a cat', 'a dog']);
    ok(run);
    expect(run.stdout).toMatch(/^1\. "a cat": 64 dimensions \[/m);
    expect(run.stdout).toMatch(/^ {2}1 ~ 2 {2}-?[01]\.\d{4}$/m);
    const json = await vmm(['embed', 'mini-embed', 'a cat', '--json', '--dimensions', '16']);
    ok(json);
    expect((JSON.parse(json.stdout) as JsonBody).embeddings[0]).toHaveLength(16);
  });
});

describe('errors', () => {
  const usage: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['list', '--bogus'], /unknown option '--bogus'/],
    [['detect', 'yolov8n-squares'], /missing required argument 'images'/],
    [['detect', 'yolov8n-squares', 'no-such-file.png'], /cannot read no-such-file.png: no such file/],
    [['detect', 'yolov8n-squares', 'x.png', '--confidence', '2'], /expected a number from 0 to 1/],
    [['pose', 'yolov8n-pose-squares'], /missing required argument 'images'/],
    [['segment', 'yolov8n-seg-squares', 'x.png', '--iou', '-1'], /expected a number from 0 to 1/],
    [['pose', 'yolov8n-pose-squares', 'x.png', '--polygons'], /unknown option '--polygons'/],
    [['classify', 'colour-classifier', 'x.png', '-k', '0'], /expected a whole number from 1 to 1000/],
    [['run', 'tiny-llama', '--format', 'yaml'], /argument 'yaml' is invalid/],
  ];
  const unreachable = [
    ['list'],
    ['ps'],
    ['show', 'tiny-llama'],
    ['run', 'tiny-llama', 'hi'],
    ['embed', 'mini-embed', 'x'],
  ];
  const unknown = [
    ['show', 'no-such-model'],
    ['run', 'no-such-model', 'hi'],
    ['stop', 'no-such-model'],
    ['detect', 'no-such-model', squaresPng],
    ['embed', 'no-such-model', 'x'],
  ];
  // The cases are independent commands: all start at once, each test awaits its own.
  const started = new Map<string, Promise<Run>>();
  const runOf = (args: string[]) => started.get(JSON.stringify(args)) as Promise<Run>;
  let port = 0;
  beforeAll(async () => {
    port = await closedPort();
    for (const [args] of usage) started.set(JSON.stringify(args), vmm(args));
    for (const args of unreachable)
      started.set(JSON.stringify(args), vmm(args, { env: { VMM_HOST: `127.0.0.1:${port}` } }));
    for (const args of unknown) started.set(JSON.stringify(args), vmm(args));
    // A failed start shows in its own test; none may stay unhandled meanwhile.
    for (const run of started.values()) run.catch(() => undefined);
  });

  it.each(usage)('refuses %j with one line and exit code 2', async (args, message) => {
    expectUsageError(await runOf(args), message);
  });

  it.each(unreachable.map((args) => [args.join(' '), args] as const))(
    'vmm %s says in one line, exit code 2, that no server answers',
    async (_name, args) => {
      const run = await runOf(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        `vmm: cannot reach http://127.0.0.1:${port}: connection refused (is \`vmm serve\` running?)\n`,
      );
    },
  );

  it.each(unknown.map((args) => [args] as const))(
    '%j passes on the server’s "not found" in one line, exit code 1',
    async (args) => {
      const run = await runOf(args);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^vmm: model "no-such-model:latest" not found\n$/);
    },
  );

  it('uses VMM_API_KEY against a key-protected gateway, and says so without it', async () => {
    const without = await vmm(['list'], { env: { VMM_HOST: keyed.url } });
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^vmm: .*(API key|unauthori[sz]ed)/i);
    const wrong = await vmm(['list'], { env: { VMM_HOST: keyed.url, VMM_API_KEY: 'wrong' } });
    expect(wrong.code).toBe(1);
    const right = await vmm(['list'], { env: { VMM_HOST: keyed.url, VMM_API_KEY: 'cli-test-key' } });
    ok(right);
    expect(right.stdout).toMatch(/^tiny-llama:latest\s/m);
  });

  it('prints help for the program and each command', async () => {
    const help = await vmm(['--help']);
    ok(help);
    for (const command of [
      'serve',
      'run',
      'list',
      'ps',
      'show',
      'stop',
      'pull',
      'detect',
      'segment',
      'pose',
      'remove-background',
      'classify',
      'embed',
      'bench',
    ])
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(help.stdout).toMatch(/Exit codes: 0 done, 1 the server said no, 2 bad usage/);
    const detect = await vmm(['detect', '--help']);
    ok(detect);
    expect(detect.stdout).toMatch(/Usage: vmm detect \[options\] <model> <images\.\.\.>/);
    expect(detect.stdout).toMatch(/-o, --out <file>/);
  });
});

describe('vmm pull against a server that pulls', () => {
  // VMM's gateway pulls nothing yet (models arrive as folders); Ollama's /api/pull stream, as
  // Ollama documents it, comes from a small server here: a manifest, two files in parts, success.
  const events = [
    { status: 'pulling manifest' },
    ...[0, 40, 100].map((completed) => ({
      status: 'pulling 3f2a9c',
      digest: 'sha256:3f2a9c',
      total: 100,
      completed,
    })),
    ...[0, 5000, 10000].map((completed) => ({
      status: 'pulling 77b1d0',
      digest: 'sha256:77b1d0',
      total: 10000,
      completed,
    })),
    { status: 'verifying sha256 digest' },
    { status: 'writing manifest' },
    { status: 'success' },
  ];
  let pullServer: ReturnType<typeof createHttpServer>;
  let pullUrl: string;
  beforeAll(async () => {
    pullServer = createHttpServer((req, res) => {
      if (req.url !== '/api/pull') return void res.writeHead(404).end('{"error":"not found"}');
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(events.map((event) => JSON.stringify(event)).join('\n') + '\n');
    });
    await new Promise<void>((resolve) => pullServer.listen(0, '127.0.0.1', resolve));
    pullUrl = `http://127.0.0.1:${(pullServer.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => pullServer.close(() => resolve())));

  it('prints each step once when not on a terminal', async () => {
    const run = await vmm(['pull', 'some-model'], { env: { VMM_HOST: pullUrl } });
    ok(run);
    expect(run.stdout.trim().split('\n')).toEqual([
      'pulling manifest',
      'pulling 3f2a9c',
      'pulling 77b1d0',
      'verifying sha256 digest',
      'writing manifest',
      'success',
    ]);
  });

  it('draws a progress bar per file on a terminal', async () => {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'script',
        ['-qfec', `"${process.execPath}" "${bin}" pull some-model`, '/dev/null'],
        {
          env: { PATH: process.env.PATH, VMM_HOST: pullUrl, TERM: 'xterm', COLUMNS: '120' },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let text = '';
      child.stdout.on('data', (data: Buffer) => (text += data.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`vmm pull ran past 30 s: ${text}`));
      }, 30_000);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    expect(output).toMatch(/pulling 3f2a9c\s+\S+ 100% 100 B\/100 B/);
    expect(output).toMatch(/pulling 77b1d0\s+\S+ 100% 10 kB\/10 kB/);
    expect(output).toContain('success');
  });
});
