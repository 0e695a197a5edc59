import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';

interface Show {
  details: {
    family?: string;
    parameter_size?: string;
    quantization_level?: string;
    task?: string;
    format?: string;
  };
  model_info: Record<string, unknown>;
  capabilities: string[];
  template: string;
}

/** `vmm show MODEL`: what `ollama show` prints — the model's shape, capabilities and (vision) labels. */
export function showCommand(context: CliContext): Command {
  return new Command('show')
    .description('Show what a model is: task, architecture, size, capabilities')
    .argument('<model>', 'the model')
    .option('--json', 'print the server’s answer as JSON')
    .option('--template', 'print only the chat template')
    .action(async (model: string, flags: { json?: boolean; template?: boolean }) => {
      const answer = await new GatewayClient(context).json<Show>('POST', '/api/show', { json: { model } });
      if (flags.json) return void context.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      if (flags.template) return void context.stdout.write(`${answer.template}\n`);
      const info = answer.model_info;
      const contextLength = Object.entries(info).find(([key]) => key.endsWith('.context_length'))?.[1];
      const labels = info['vision.labels'];
      const size = info['vision.image_size'];
      const rows: [string, unknown][] = [
        ['task', answer.details.task],
        ['architecture', answer.details.family],
        ['parameters', answer.details.parameter_size],
        ['context length', contextLength],
        ['input size', Array.isArray(size) ? size.join('×') : undefined],
        ['quantization', answer.details.quantization_level],
        ['format', answer.details.format],
      ];
      let text = '  Model\n';
      for (const [key, value] of rows)
        if (value !== undefined && value !== '' && value !== 0)
          text += `    ${key.padEnd(16)}${String(value)}\n`;
      text += '\n  Capabilities\n';
      for (const capability of answer.capabilities) text += `    ${capability}\n`;
      if (Array.isArray(labels) && labels.length > 0) {
        const shown = (labels as string[]).slice(0, 10);
        text += `\n  Labels (${labels.length})\n    ${shown.join(', ')}${labels.length > shown.length ? ', …' : ''}\n`;
      }
      context.stdout.write(`${text}\n`);
    });
}
