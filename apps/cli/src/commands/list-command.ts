import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';
import { formatAgo, formatBytes, formatTable } from '../output.js';

interface Tag {
  name: string;
  size: number;
  modified_at: string;
  digest: string;
  details?: { task?: string; quantization_level?: string; parameter_size?: string; format?: string };
}

/** `vmm list` (`ls`): the models the server can serve, as `ollama list` shows them, plus the task. */
export function listCommand(context: CliContext): Command {
  return new Command('list')
    .alias('ls')
    .description('List the models the server has')
    .option('--json', 'print the server’s answer as JSON')
    .action(async (flags: { json?: boolean }) => {
      const answer = await new GatewayClient(context).json<{ models: Tag[] }>('GET', '/api/tags');
      if (flags.json) return void context.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      const rows = answer.models.map((model) => [
        model.name,
        model.details?.task ?? '',
        model.digest.slice(0, 12),
        formatBytes(model.size),
        model.details?.quantization_level ?? '',
        formatAgo(new Date(model.modified_at), context.startedAt),
      ]);
      context.stdout.write(formatTable(['NAME', 'TASK', 'ID', 'SIZE', 'QUANTIZATION', 'MODIFIED'], rows));
    });
}
