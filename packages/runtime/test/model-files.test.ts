// Model folders, manifests, metadata and sessions, on real fixture files.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import { DETECTOR_FILE, writeDemoModels, writeLlamaFolder } from '@vmm/model-fixtures';
import {
  createOrtSession,
  cudaProviderInstalled,
  inspectModelFolder,
  int64Tensor,
  listModelFolders,
  modelDir,
  readOnnxMetadata,
  selectModelFile,
  validateModelName,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-runtime-'));
const models = join(root, 'models');

beforeAll(() => {
  writeDemoModels(models);
  writeLlamaFolder(join(models, 'llama-fp16'), { variants: ['fp16'] });
  mkdirSync(join(models, 'empty'));
  mkdirSync(join(models, 'bad-manifest'));
  writeFileSync(join(models, 'bad-manifest', 'vmm.json'), '{"task": "painting"}');
  writeFileSync(join(models, 'bad-manifest', 'model.onnx'), 'not onnx');
  mkdirSync(join(root, 'outside'));
  symlinkSync(join(root, 'outside'), join(models, 'escape'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('validateModelName', () => {
  it.each(['tiny-llama', 'TinyLlama_1.1B', 'llama:latest', 'llama:fp16', 'a'])('accepts %p', (name) => {
    expect(validateModelName(name)).toBe(name);
  });
  it.each([
    '',
    '../etc',
    '..',
    'a/b/c/d',
    'a\\b',
    '/abs',
    '.hidden',
    'a..b',
    'x:',
    ':tag',
    'a:b:c',
    'name with space',
    'x'.repeat(129),
    'ünïcode',
    'a\0b',
  ])('refuses %p naming the field', (name) => {
    expect(() => validateModelName(name)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, field: 'model' }),
    );
  });
  it.each([undefined, null, 5, {}])('refuses the non-string %p', (name) => {
    expect(() => validateModelName(name)).toThrow(VmmError);
  });
});

describe('modelDir', () => {
  it('maps name:latest to the name and other tags to name-tag', () => {
    expect(modelDir(models, 'tiny-llama:latest')).toBe(modelDir(models, 'tiny-llama'));
    expect(modelDir(models, 'llama:fp16')).toBe(modelDir(models, 'llama-fp16'));
  });
  it('refuses a symlink that leaves the models directory', () => {
    expect(() => modelDir(models, 'escape')).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument }),
    );
  });
  it('says NOT_FOUND for a model that does not exist', () => {
    expect(() => modelDir(models, 'nope')).toThrow(expect.objectContaining({ code: ErrorCode.NotFound }));
  });
});

describe('inspectModelFolder', () => {
  it('recognises an Optimum text-generation folder and its variants', () => {
    const folder = inspectModelFolder(models, 'tiny-llama');
    expect(folder).toMatchObject({ task: 'text-generation', format: 'optimum' });
    expect(folder.files.map((file) => [file.path, file.variant])).toEqual([
      ['onnx/decoder_model_merged.onnx', 'merged'],
      ['onnx/model.onnx', 'fp32'],
      ['onnx/model_fp16.onnx', 'fp16'],
      ['onnx/model_q4.onnx', 'q4'],
      ['onnx/model_quantized.onnx', 'quantized'],
    ]);
    expect(folder.sizeBytes).toBeGreaterThan(folder.files.reduce((sum, file) => sum + file.bytes, 0));
    expect(folder.modifiedAtMs).toBeGreaterThan(0);
  });

  it('recognises an Ultralytics export from its metadata', () => {
    const folder = inspectModelFolder(models, 'yolov8n-squares');
    expect(folder).toMatchObject({ task: 'object-detection', format: 'ultralytics' });
    expect(folder.metadata).toMatchObject({ task: 'detect', imgsz: '[640, 640]' });
  });

  it('recognises Ultralytics segmentation and pose exports, and names a task it does not serve', () => {
    expect(inspectModelFolder(models, 'yolov8n-seg-squares')).toMatchObject({
      task: 'instance-segmentation',
      format: 'ultralytics',
    });
    const pose = inspectModelFolder(models, 'yolov8n-pose-squares');
    expect(pose).toMatchObject({ task: 'pose-estimation', format: 'ultralytics' });
    expect(pose.metadata).toMatchObject({ task: 'pose', kpt_shape: '[17, 3]' });
    // The detector with its task metadata rewritten in place (same length): "detect" → "tracks".
    const bytes = readFileSync(join(models, 'yolov8n-squares', DETECTOR_FILE));
    const at = bytes.indexOf(Buffer.from('\x12\x06detect', 'latin1'));
    expect(at).toBeGreaterThan(0);
    Buffer.from('tracks').copy(bytes, at + 2);
    const elsewhere = join(root, 'tracker-models');
    mkdirSync(join(elsewhere, 'tracker'), { recursive: true });
    writeFileSync(join(elsewhere, 'tracker', 'tracker.onnx'), bytes);
    expect(() => inspectModelFolder(elsewhere, 'tracker')).toThrow(
      /Ultralytics "tracks" model; VMM serves detect, classify, segment, pose/,
    );
  });

  it('reads a vmm.json manifest', () => {
    const folder = inspectModelFolder(models, 'colour-classifier');
    expect(folder).toMatchObject({ task: 'image-classification', format: 'manifest' });
    expect(folder.manifest?.preprocess?.crop).toBe(224);
  });

  it.each([
    ['empty', /has no \.onnx file/],
    ['bad-manifest', /vmm\.json is invalid/],
  ])('explains why %s cannot be served', (name, message) => {
    expect(() => inspectModelFolder(models, name)).toThrow(message);
  });

  it('lists the servable models and the problems of the rest', () => {
    const { models: found, problems } = listModelFolders(models);
    expect(found.map((model) => model.name)).toEqual([
      'backdrop-cutout:latest',
      'colour-classifier:latest',
      'llama-fp16:latest',
      'mini-embed:latest',
      'qwen3-demo:latest',
      'smolvlm-demo:latest',
      'tiny-llama:latest',
      'yolov8n-pose-squares:latest',
      'yolov8n-seg-squares:latest',
      'yolov8n-squares:latest',
    ]);
    expect(found.find((model) => model.name === 'mini-embed:latest')?.task).toBe('embedding');
    // transformers.js's background-removal layout: the task from config.json's model_type.
    expect(found.find((model) => model.name === 'backdrop-cutout:latest')).toMatchObject({
      task: 'background-removal',
      format: 'optimum',
    });
    expect(found.find((model) => model.name === 'qwen3-demo:latest')?.task).toBe('text-generation');
    // onnx-community's vision-language layout: a text model that reads images, served by its decoder.
    expect(found.find((model) => model.name === 'smolvlm-demo:latest')).toMatchObject({
      task: 'text-generation',
      takesImages: true,
      files: [expect.objectContaining({ path: 'onnx/decoder_model_merged.onnx' })],
    });
    expect(problems.map((problem) => problem.name)).toEqual(['bad-manifest', 'empty', 'escape']);
  });
});

describe('selectModelFile', () => {
  it.each([
    ['tiny-llama', 'cpu', undefined, 'onnx/model.onnx'],
    ['tiny-llama', 'cuda', undefined, 'onnx/model_fp16.onnx'],
    ['tiny-llama', 'cpu', 'merged', 'onnx/decoder_model_merged.onnx'],
    ['llama-fp16', 'cpu', undefined, 'onnx/model_fp16.onnx'],
    ['colour-classifier', 'cpu', undefined, 'model.onnx'],
  ] as const)('picks for %s on %s (asked %p): %s', (name, backend, variant, expected) => {
    expect(selectModelFile(inspectModelFolder(models, name), backend, variant).path).toBe(expected);
  });

  it.each([
    ['tiny-llama:q4', 'onnx/model_q4.onnx'],
    ['tiny-llama:Q8', 'onnx/model_quantized.onnx'],
    ['tiny-llama:int8', 'onnx/model_quantized.onnx'],
    ['tiny-llama:fp16', 'onnx/model_fp16.onnx'],
    ['tiny-llama:fp32', 'onnx/model.onnx'],
  ])('picks the variant a tag names: %s → %s, whatever the backend prefers', (name, expected) => {
    const folder = inspectModelFolder(models, name);
    expect(folder.name).toBe(name);
    expect(selectModelFile(folder, 'cuda').path).toBe(expected);
    // No variant tag: the backend's choice.
    expect(selectModelFile(inspectModelFolder(models, 'tiny-llama:latest'), 'cuda').path).toBe(
      'onnx/model_fp16.onnx',
    );
  });

  it('prefers a folder of its own to a variant tag, and says which variants a folder lacks', () => {
    // llama-fp16/ exists: llama:fp16 is that folder, as before variant tags.
    expect(modelDir(models, 'llama:fp16')).toBe(inspectModelFolder(models, 'llama:fp16').dir);
    expect(() => inspectModelFolder(models, 'llama-fp16:q4')).toThrow(
      /"llama-fp16" has no q4 variant \(has onnx\/model_fp16\.onnx\)/,
    );
    expect(() => inspectModelFolder(models, 'tiny-llama:q5')).toThrow(/model "tiny-llama:q5" not found/);
  });

  it('says which files exist when the asked variant does not', () => {
    expect(() => selectModelFile(inspectModelFolder(models, 'llama-fp16'), 'cpu', 'quantized')).toThrow(
      /no quantized ONNX file \(has onnx\/model_fp16\.onnx\)/,
    );
  });
});

describe('readOnnxMetadata', () => {
  it('reads Ultralytics metadata, opsets and IR version without the graph', () => {
    const info = readOnnxMetadata(join(models, 'yolov8n-squares', DETECTOR_FILE));
    expect(info.irVersion).toBe(8);
    expect(info.producerName).toBe('vmm-model-fixtures');
    expect(info.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(Object.keys(info.metadata)).toEqual(
      expect.arrayContaining(['names', 'stride', 'imgsz', 'task', 'batch']),
    );
    expect(info.metadata.names?.startsWith("{0: 'red', 1: 'green'")).toBe(true);
  });

  it.each([
    ['a text file', 'hello, this is not a model\n'],
    ['an empty file', ''],
    ['a truncated model', 'TRUNCATE'],
  ])('refuses %s with a clear error', (_name, content) => {
    const path = join(root, `bad-${content.length}.onnx`);
    if (content === 'TRUNCATE') {
      const full = readFileSync(join(models, 'tiny-llama', 'onnx', 'model.onnx'));
      writeFileSync(path, full.subarray(0, 1000));
    } else {
      writeFileSync(path, content);
    }
    expect(() => readOnnxMetadata(path)).toThrow(/is not a valid ONNX file/);
  });
});

describe('createOrtSession', () => {
  it('opens a model on the CPU provider and reports its I/O', async () => {
    const session = await createOrtSession(join(models, 'tiny-llama', 'onnx', 'model.onnx'), {
      backend: 'cpu',
      intraOpThreads: 1,
    });
    expect(session.providers).toEqual(['cpu']);
    expect(session.inputs[0]).toEqual({
      name: 'input_ids',
      type: 'int64',
      shape: ['batch_size', 'sequence_length'],
    });
    expect(session.inputs.find((input) => input.name === 'past_key_values.0.key')?.shape).toEqual([
      'batch_size',
      2,
      'past_sequence_length',
      16,
    ]);
    const session2 = await createOrtSession(join(models, 'colour-classifier', 'model.onnx'), {
      backend: 'cpu',
    });
    const pixels = new Float32Array(3 * 224 * 224);
    const out = await session2.run({
      pixel_values: { type: 'float32', dims: [1, 3, 224, 224], data: pixels },
    });
    expect(out.probabilities?.dims).toEqual([1, 8]);
    await Promise.all([session.release(), session2.release()]);
    expect(int64Tensor([1, 2], [2]).data).toEqual(BigInt64Array.from([1n, 2n]));
  });

  it('explains how to get the CUDA provider when it is not installed', async () => {
    if (cudaProviderInstalled()) {
      console.log('CUDA provider installed here: the missing-provider message is not shown');
      return;
    }
    await expect(
      createOrtSession(join(models, 'tiny-llama', 'onnx', 'model.onnx'), { backend: 'cuda' }),
    ).rejects.toThrow(/CUDA execution provider is not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it('reports a file that is not a model as FAILED_PRECONDITION', async () => {
    await expect(
      createOrtSession(join(models, 'bad-manifest', 'model.onnx'), { backend: 'cpu' }),
    ).rejects.toMatchObject({
      code: ErrorCode.FailedPrecondition,
    });
  });
});
