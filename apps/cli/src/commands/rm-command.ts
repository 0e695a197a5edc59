import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';

/** `vmm rm MODEL…`: deletes models, as `ollama rm` (the server refuses one that is running). */
export function rmCommand(context: CliContext): Command {
  return new Command('rm')
    .description('Delete models from the server (refused while a model is generating)')
    .argument('<models...>', 'the models')
    .action(async (models: string[]) => {
      const client = new GatewayClient(context);
      for (const model of models) {
        await client.send('DELETE', '/api/delete', { json: { model } });
        context.stdout.write(`deleted '${model}'\n`);
      }
    });
}
