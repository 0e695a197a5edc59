#!/usr/bin/env node
// vmm-model-fixtures demo --out <dir> [--preset tiny|small|tinyllama] [--seed N] [--variants fp32,fp16,merged,int8,q4] [--gguf f32,f16,q8_0,q4_0]
import { parseArgs } from 'node:util';
import { writeDemoModels } from './demo-models.js';
import { type LlamaPreset, llamaPresets } from './llama/llama-shape.js';
import type { LlamaVariant } from './llama/write-llama-folder.js';
import { type LlamaGgufType, llamaGgufTypes } from './llama/write-llama-gguf.js';

const usage =
  'usage: vmm-model-fixtures demo --out <dir> [--preset tiny|small|tinyllama] [--seed N] [--variants fp32,fp16,merged,no-position-ids,int8,q4] [--gguf f32,f16,q8_0,q4_0]';
const variantNames: readonly LlamaVariant[] = ['fp32', 'fp16', 'merged', 'no-position-ids', 'int8', 'q4'];

function fail(message: string): never {
  console.error(`${message}\n${usage}`);
  process.exit(2);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        preset: { type: 'string', default: 'tiny' },
        seed: { type: 'string', default: '0' },
        variants: { type: 'string' },
        gguf: { type: 'string' },
      },
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
})();

if (positionals[0] !== 'demo' || positionals.length !== 1) fail('expected the command "demo"');
if (!values.out) fail('--out is required');
if (!(values.preset in llamaPresets)) fail(`unknown --preset "${values.preset}"`);
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed) || seed < 0)
  fail(`--seed must be a non-negative integer, got "${values.seed}"`);
const variants = values.variants?.split(',').map((name) => name.trim());
const unknown = variants?.find((name) => !variantNames.includes(name as LlamaVariant));
if (unknown !== undefined) fail(`unknown variant "${unknown}"`);
const gguf = values.gguf?.split(',').map((name) => name.trim());
const unknownGguf = gguf?.find((name) => !llamaGgufTypes.includes(name as LlamaGgufType));
if (unknownGguf !== undefined) fail(`unknown GGUF type "${unknownGguf}"`);

const started = performance.now();
const models = writeDemoModels(values.out, {
  preset: values.preset as LlamaPreset,
  seed,
  ...(variants ? { variants: variants as LlamaVariant[] } : {}),
  ...(gguf ? { gguf: gguf as LlamaGgufType[] } : {}),
});
for (const model of models) console.log(`${model.name} (${model.task}): ${model.files.length} files`);
console.log(
  `wrote ${models.length} models into ${values.out} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
