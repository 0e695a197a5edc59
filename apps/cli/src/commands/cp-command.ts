import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';

/** `vmm cp SOURCE DESTINATION`: a second name for a model (no file is copied), as `ollama cp`. */
export function cpCommand(context: CliContext): Command {
  return new Command('cp')
    .description('Give a model a second name (its files are shared)')
    .argument('<source>', 'the model')
    .argument('<destination>', 'the new name')
    .action(async (source: string, destination: string) => {
      await new GatewayClient(context).send('POST', '/api/copy', { json: { source, destination } });
      context.stdout.write(`copied '${source}' to '${destination}'\n`);
    });
}
