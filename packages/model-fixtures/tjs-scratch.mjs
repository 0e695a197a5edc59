import { writeVlmFolder } from '/work/main/packages/model-fixtures/dist/index.js';
import { AutoProcessor, AutoModelForImageTextToText, RawImage, env } from '@huggingface/transformers';
import sharp from 'sharp';
const opts = JSON.parse(process.argv[2] ?? '{}');
const dir = '/tmp/vlm/smol';
writeVlmFolder(dir, { layout: 'idefics3', seed: 1, ...opts });
env.allowRemoteModels = false; env.localModelPath = '/tmp/vlm/';
const processor = await AutoProcessor.from_pretrained('smol');
const model = await AutoModelForImageTextToText.from_pretrained('smol', { dtype: 'fp32' });
const mk = async (w, h, bg, grad) => {
  let s = grad ? sharp(Buffer.from(Array.from({length: w*h*3}, (_, i) => ((i/3)%w)*255/w|0)), {raw:{width:w,height:h,channels:3}}) : sharp({ create: { width: w, height: h, channels: 3, background: bg } });
  return RawImage.fromBlob(new Blob([await s.png().toBuffer()]));
};
for (const [w,h,bg,grad] of [[300,200,{r:200,g:30,b:60}],[300,200,{r:20,g:30,b:200}],[640,480,null,true]]) {
  const image = await mk(w,h,bg,grad);
  const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the picture?' }] }];
  const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
  const inputs = await processor(text, [image]);
  const out = await model.generate({ ...inputs, max_new_tokens: 32, do_sample: false });
  console.log(JSON.stringify(processor.batch_decode(out.slice(null, [inputs.input_ids.dims[1], null]), { skip_special_tokens: false })[0]));
}
