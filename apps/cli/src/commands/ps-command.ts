import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';
import { formatBytes, formatTable } from '../output.js';

interface Loaded {
  name: string;
  size: number;
  size_vram: number;
  expires_at: string;
  worker: string;
  details?: { task?: string };
  batching?: { running_sequences: number; waiting_sequences: number };
}

/** `vmm ps`: the models loaded now, on which worker, and until when. */
export function psCommand(context: CliContext): Command {
  return new Command('ps')
    .description('List the models loaded now')
    .option('--json', 'print the server’s answer as JSON')
    .action(async (flags: { json?: boolean }) => {
      const answer = await new GatewayClient(context).json<{ models: Loaded[] }>('GET', '/api/ps');
      if (flags.json) return void context.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      const now = context.startedAt.getTime();
      const rows = answer.models.map((model) => {
        const expires = new Date(model.expires_at).getTime();
        const until =
          expires - now > 365 * 24 * 3600 * 1000
            ? 'Forever'
            : `${Math.max(0, Math.round((expires - now) / 60_000))} minutes from now`;
        const busy = model.batching
          ? `${model.batching.running_sequences} running, ${model.batching.waiting_sequences} waiting`
          : '';
        return [
          model.name,
          model.details?.task ?? '',
          model.worker,
          formatBytes(model.size_vram || model.size),
          busy,
          until,
        ];
      });
      context.stdout.write(formatTable(['NAME', 'TASK', 'WORKER', 'SIZE', 'SEQUENCES', 'UNTIL'], rows));
    });
}
