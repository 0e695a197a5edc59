import cliProgress from 'cli-progress';
import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { GatewayClient } from '../client/gateway-client.js';
import { formatBytes } from '../output.js';

/**
 * `vmm pull MODEL`: follows the server's pull stream (Ollama's shape: `status`, and per file
 * `digest`, `total`, `completed`), one progress bar per file on a terminal, one line per status
 * otherwise.
 */
export function pullCommand(context: CliContext): Command {
  return new Command('pull')
    .description('Pull a model onto the server, with a progress bar per file')
    .argument('<model>', 'the model')
    .option('--json', 'print the stream of progress objects as JSON lines')
    .action(async (model: string, flags: { json?: boolean }) => {
      const client = new GatewayClient(context);
      const bars = context.stderrIsTty
        ? new cliProgress.MultiBar(
            {
              stream: context.stderr as NodeJS.WriteStream,
              // Fits an 80-column terminal: 24 + 25 + the numbers.
              format: '{file} {bar} {percentage}% {done}/{size}',
              barsize: 25,
              hideCursor: true,
              clearOnComplete: false,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
      const files = new Map<string, cliProgress.SingleBar>();
      // Ollama's stream sends the files' progress, then the closing steps: the bars stop (and
      // stay on screen) when the first closing step comes.
      let drawing = bars !== undefined;
      let lastStatus = '';
      try {
        for await (const event of client.stream('/api/pull', { model, stream: true })) {
          if (flags.json) {
            context.stdout.write(`${JSON.stringify(event)}\n`);
            continue;
          }
          const status = typeof event.status === 'string' ? event.status : '';
          const digest = typeof event.digest === 'string' ? event.digest : undefined;
          const total = typeof event.total === 'number' ? event.total : undefined;
          const completed = typeof event.completed === 'number' ? event.completed : 0;
          if (digest && total !== undefined && bars && drawing) {
            const payload = {
              file: status.padEnd(24).slice(0, 24),
              done: formatBytes(completed),
              size: formatBytes(total),
            };
            const bar = files.get(digest) ?? bars.create(total, completed, payload);
            files.set(digest, bar);
            bar.update(completed, payload);
          } else if (status !== lastStatus) {
            if (bars && drawing && files.size > 0) {
              bars.stop();
              drawing = false;
            }
            (bars ? context.stderr : context.stdout).write(`${status}\n`);
          }
          lastStatus = status;
        }
      } finally {
        if (drawing) bars?.stop();
      }
    });
}
