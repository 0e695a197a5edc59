// transformers.js in a plain Node process for families.test.ts: under jest's ESM loader (a vm
// context) its JavaScript — logits processing over a 262 144-token vocabulary each step — runs
// 15-30 times slower. Input (argv[2], JSON): the models root, a folder name, a prompt, how many
// tokens to generate greedily (0: tokenize only) and the dtype. Output (stdout, JSON): the
// prompt's ids and the generated ids.
import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';

const { root, name, prompt, tokens, dtype } = JSON.parse(process.argv[2] ?? '{}');
// Local files only: nothing may be fetched from a hub.
env.allowRemoteModels = false;
env.localModelPath = root;
env.useFSCache = false;
const tokenizer = await AutoTokenizer.from_pretrained(name);
const promptIds = tokenizer.encode(prompt);
let generated = [];
if (tokens > 0) {
  const model = await AutoModelForCausalLM.from_pretrained(name, {
    local_files_only: true,
    ...(dtype ? { dtype } : {}),
  });
  const output = await model.generate({
    ...tokenizer(prompt),
    max_new_tokens: tokens,
    do_sample: false,
    // Past every end-of-turn id: the test compares up to the first one itself.
    eos_token_id: [],
  });
  generated = output.tolist()[0].map(Number).slice(promptIds.length);
  await model.dispose();
}
process.stdout.write(JSON.stringify({ promptIds, generated }));
