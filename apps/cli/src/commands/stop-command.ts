import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';

/** `vmm stop MODEL`: unloads a model from every worker, as `ollama stop` does (keep_alive 0). */
export function stopCommand(context: CliContext): Command {
  return new Command('stop')
    .description('Unload a model from every worker that has it loaded')
    .argument('<model>', 'the model')
    .action(async (model: string) => {
      await new GatewayClient(context).json('POST', '/api/generate', { json: { model, keep_alive: 0 } });
    });
}
