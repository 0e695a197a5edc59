import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The built CLI, as `npm run models:demo` runs it (turbo builds the package before its tests).
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'vmm-demo-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('vmm-model-fixtures demo', () => {
  it('writes the demo set, one folder per model', () => {
    const result = run('demo', '--out', out);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('wrote 9 models');
    for (const file of [
      'tiny-llama/onnx/model.onnx',
      'tiny-llama/onnx/model_fp16.onnx',
      'tiny-llama/onnx/decoder_model_merged.onnx',
      'tiny-llama/tokenizer.json',
      'yolov8n-squares/yolov8n-squares.onnx',
      'colour-classifier/vmm.json',
      'yolov8n-seg-squares/yolov8n-seg-squares.onnx',
      'yolov8n-pose-squares/yolov8n-pose-squares.onnx',
      'backdrop-cutout/onnx/model.onnx',
      'backdrop-cutout/preprocessor_config.json',
      'mini-embed/onnx/model.onnx',
      'mini-embed/modules.json',
      'mini-embed/1_Pooling/config.json',
      'qwen3-demo/onnx/model.onnx',
      'qwen3-demo/onnx/model_q4.onnx',
      'qwen3-demo/tokenizer_config.json',
      'smolvlm-demo/onnx/vision_encoder.onnx',
      'smolvlm-demo/onnx/embed_tokens.onnx',
      'smolvlm-demo/onnx/decoder_model_merged.onnx',
      'smolvlm-demo/preprocessor_config.json',
    ]) {
      expect(existsSync(join(out, file))).toBe(true);
    }
  });

  it('adds GGUF copies of the LLM with --gguf', () => {
    const dir = join(out, 'with-gguf');
    const result = run('demo', '--out', dir, '--variants', 'fp32', '--gguf', 'f32,q8_0');
    expect(result.status).toBe(0);
    expect(existsSync(join(dir, 'tiny-llama/gguf/model-f32.gguf'))).toBe(true);
    expect(existsSync(join(dir, 'tiny-llama/gguf/model-q8_0.gguf'))).toBe(true);
    expect(existsSync(join(dir, 'tiny-llama/gguf/model-f16.gguf'))).toBe(false);
  });

  it.each([
    [['demo'], '--out is required'],
    [['demo', '--out', 'x', '--gguf', 'f32,q5_k'], 'unknown GGUF type "q5_k"'],
    [['build', '--out', 'x'], 'expected the command "demo"'],
    [['demo', '--out', 'x', '--preset', 'huge'], 'unknown --preset "huge"'],
    [['demo', '--out', 'x', '--seed=-1'], '--seed must be a non-negative integer'],
    [['demo', '--out', 'x', '--seed', '1.5'], '--seed must be a non-negative integer'],
    [['demo', '--out', 'x', '--variants', 'fp32,int4'], 'unknown variant "int4"'],
    [['demo', '--out', 'x', '--frobnicate'], "Unknown option '--frobnicate'"],
  ])('refuses %p with exit 2 and says why', (args, message) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('usage:');
  });
});
