// transformers.js's image-text-to-text generation in a plain Node process, for
// vision-language.test.ts (under jest's ESM loader transformers.js runs many times slower).
// Input (argv[2], JSON): the models root, a folder name, chat messages in Hugging Face's shape
// (content parts), image file paths in prompt order, and how many tokens to generate greedily.
// Output (stdout, JSON): the prompt's ids and the generated ids.
import { readFileSync } from 'node:fs';
import { AutoModelForImageTextToText, AutoProcessor, cat, env, RawImage } from '@huggingface/transformers';

const { root, name, messages, images, tokens } = JSON.parse(process.argv[2] ?? '{}');
// Local files only: nothing may be fetched from a hub.
env.allowRemoteModels = false;
env.localModelPath = root;
env.useFSCache = false;
const processor = await AutoProcessor.from_pretrained(name);
const model = await AutoModelForImageTextToText.from_pretrained(name, {
  local_files_only: true,
  dtype: 'fp32',
});
const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
const pictures = await Promise.all(images.map((path) => RawImage.fromBlob(new Blob([readFileSync(path)]))));
let inputs;
if (processor.image_processor.constructor.name === 'Qwen2VLImageProcessor' && pictures.length > 1) {
  // transformers.js's Qwen2-VL processor stacks pictures as frames of one video; each is
  // processed alone here and joined as Python's processor joins them.
  const parts = await Promise.all(pictures.map((picture) => processor.image_processor(picture)));
  const grids = parts.map((part) => part.image_grid_thw.tolist()[0].map(Number));
  const merge = processor.image_processor.config.merge_size ** 2;
  let index = 0;
  const expanded = text.replace(/<\|image_pad\|>/g, () => {
    const [t, h, w] = grids[index++];
    return '<|image_pad|>'.repeat((t * h * w) / merge);
  });
  inputs = {
    ...processor.tokenizer(expanded),
    pixel_values: cat(
      parts.map((part) => part.pixel_values),
      0,
    ),
    image_grid_thw: cat(
      parts.map((part) => part.image_grid_thw),
      0,
    ),
  };
} else {
  inputs = await processor(text, pictures.length > 0 ? pictures : null);
}
const promptIds = inputs.input_ids.tolist()[0].map(Number);
const output = await model.generate({
  ...inputs,
  max_new_tokens: tokens,
  do_sample: false,
  // Past every end-of-turn id: the test compares up to the first one itself.
  eos_token_id: [],
});
const generated = output.tolist()[0].map(Number).slice(promptIds.length);
await model.dispose();
process.stdout.write(JSON.stringify({ promptIds, generated }));
