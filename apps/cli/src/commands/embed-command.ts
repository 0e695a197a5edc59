import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';

interface EmbedAnswer {
  embeddings: number[][];
  prompt_eval_count?: number;
}

function dimensions(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new InvalidArgumentError('expected a whole number above 0');
  return number;
}

const cosine = (a: readonly number[], b: readonly number[]) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((value, i) => {
    dot += value * (b[i] ?? 0);
    na += value * value;
    nb += (b[i] ?? 0) ** 2;
  });
  return dot / Math.sqrt(na * nb || 1);
};

/**
 * `vmm embed MODEL TEXT…`: one vector per text. On a terminal, a short view of each vector and,
 * for several texts, their cosine similarities; `--json` gives the vectors whole.
 */
export function embedCommand(context: CliContext): Command {
  return new Command('embed')
    .description('Embed texts: vectors, and how similar the texts are')
    .argument('<model>', 'an embedding model')
    .argument('<texts...>', 'the texts (quote each one)')
    .option('--dimensions <n>', 'truncate the vectors to this many dimensions', dimensions)
    .option('--json', 'print the server’s answer as JSON')
    .action(async (model: string, texts: string[], flags: { dimensions?: number; json?: boolean }) => {
      const answer = await new GatewayClient(context).json<EmbedAnswer>('POST', '/api/embed', {
        json: { model, input: texts, ...(flags.dimensions ? { dimensions: flags.dimensions } : {}) },
      });
      if (flags.json) return void context.stdout.write(`${JSON.stringify(answer)}\n`);
      let text = '';
      answer.embeddings.forEach((vector, i) => {
        const head = vector
          .slice(0, 4)
          .map((v) => v.toFixed(4))
          .join(', ');
        text += `${i + 1}. ${JSON.stringify(texts[i])}: ${vector.length} dimensions [${head}, …]\n`;
      });
      if (answer.embeddings.length > 1) {
        text += '\ncosine similarity\n';
        for (let i = 0; i < answer.embeddings.length; i += 1)
          for (let j = i + 1; j < answer.embeddings.length; j += 1)
            text += `  ${i + 1} ~ ${j + 1}  ${cosine(answer.embeddings[i]!, answer.embeddings[j]!).toFixed(4)}\n`;
      }
      context.stdout.write(text);
    });
}
