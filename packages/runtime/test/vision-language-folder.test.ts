// A vision-language folder as onnx-community lays it out: served as a text model that reads
// images, by its decoder's variants; the vision encoder and token embedding that go with each.
import { afterAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeInChild, writeVlmFolder } from '@vmm/model-fixtures';
import { inspectModelFolder, selectModelFile, visionCompanions } from '../src/index.js';

const models = mkdtempSync(join(tmpdir(), 'vmm-vlm-folder-'));
afterAll(() => rmSync(models, { recursive: true, force: true }));

describe('a vision-language folder', () => {
  it('is a text model that takes images, run by its decoder', () => {
    writeVlmFolder(join(models, 'smol'), { layout: 'smolvlm' });
    const folder = inspectModelFolder(models, 'smol');
    expect(folder).toMatchObject({ task: 'text-generation', format: 'optimum', takesImages: true });
    expect(selectModelFile(folder, 'cpu').path).toBe('onnx/decoder_model_merged.onnx');
    expect(visionCompanions(folder.dir, 'onnx/decoder_model_merged.onnx')).toEqual({
      encoder: 'onnx/vision_encoder.onnx',
      embed: 'onnx/embed_tokens.onnx',
    });
  });

  it('serves a Qwen2-VL folder the same way', () => {
    writeInChild('writeQwen2VlFolder', join(models, 'qwen'), {});
    const folder = inspectModelFolder(models, 'qwen');
    expect(folder).toMatchObject({ task: 'text-generation', takesImages: true });
    expect(folder.files.map((file) => file.path)).toEqual(['onnx/decoder_model_merged.onnx']);
  });

  it('pairs a variant of the decoder with the same variant of the others where the folder has it', () => {
    const dir = join(models, 'variants');
    writeVlmFolder(dir, { layout: 'idefics3' });
    copyFileSync(join(dir, 'onnx/decoder_model_merged.onnx'), join(dir, 'onnx/decoder_model_merged_q4.onnx'));
    copyFileSync(join(dir, 'onnx/vision_encoder.onnx'), join(dir, 'onnx/vision_encoder_q4.onnx'));
    const folder = inspectModelFolder(models, 'variants');
    expect(folder.files.map((file) => file.path).sort()).toEqual([
      'onnx/decoder_model_merged.onnx',
      'onnx/decoder_model_merged_q4.onnx',
    ]);
    // No embed_tokens_q4.onnx: the full-precision one goes with it, as transformers.js would load.
    expect(visionCompanions(dir, 'onnx/decoder_model_merged_q4.onnx')).toEqual({
      encoder: 'onnx/vision_encoder_q4.onnx',
      embed: 'onnx/embed_tokens.onnx',
    });
  });

  it.each(['onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'preprocessor_config.json'])(
    'without %s is refused, naming it',
    (missing) => {
      const name = `missing-${missing.replaceAll(/\W/g, '-')}`;
      writeVlmFolder(join(models, name), { layout: 'idefics3' });
      rmSync(join(models, name, missing));
      expect(() => inspectModelFolder(models, name)).toThrow(
        new RegExp(`vision-language model without ${missing}`),
      );
    },
  );
});
