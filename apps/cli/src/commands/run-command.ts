import { createInterface, type Interface } from 'node:readline';
import { Command, Option } from 'commander';
import type { CliContext } from '../cli-context.js';
import { CliError, ExitCode } from '../cli-error.js';
import { GatewayClient, type Json } from '../client/gateway-client.js';
import { painter } from '../output.js';
import { chatParameter, parameterNames } from './chat-parameters.js';
import { promptImages } from './prompt-images.js';
import { readImage } from './read-image.js';

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Base64 pictures (Ollama's `images`), kept with their turn and sent again with the conversation. */
  images?: string[];
}

interface RunFlags {
  image?: string[];
  verbose?: boolean;
  format?: string;
  think?: boolean | string;
  hidethinking?: boolean;
}

interface SessionFlags extends Omit<RunFlags, 'think'> {
  think?: Think | undefined;
}

type Think = boolean | 'low' | 'medium' | 'high';

const thinkValues: Readonly<Record<string, Think>> = {
  true: true,
  false: false,
  low: 'low',
  medium: 'medium',
  high: 'high',
};

/**
 * `--think` alone, `--think=false` or a level, as `ollama run` takes it. The option's value is
 * optional, so in `--think hello` the word is the prompt's, not the option's: it goes back to them.
 */
function splitThink(
  flag: boolean | string | undefined,
  words: string[],
): { think: Think | undefined; words: string[] } {
  if (typeof flag !== 'string') return { think: flag, words };
  const think = thinkValues[flag];
  return think === undefined ? { think: true, words: [flag, ...words] } : { think, words };
}

/** Which command serves a model that does not generate text. */
const otherCommand: Record<string, string> = {
  'object-detection': 'vmm detect',
  'image-classification': 'vmm classify',
  'instance-segmentation': 'vmm segment',
  'pose-estimation': 'vmm pose',
  'background-removal': 'vmm remove-background',
  embedding: 'vmm embed',
};

/** `vmm run MODEL [PROMPT]`: one answer streamed, or an interactive chat on a terminal. */
export function runCommand(context: CliContext): Command {
  return new Command('run')
    .description('Chat with a text model: answer PROMPT and exit, or talk interactively')
    .argument('<model>', 'a text generation model')
    .argument('[prompt...]', 'the prompt (without one: read stdin, or chat on a terminal)')
    .option(
      '--image <path>',
      'a picture for a model that reads images (again for more); in a chat, a path in the prompt adds one',
      (path: string, paths: string[] = []) => [...paths, path],
    )
    .option('--verbose', 'print timings and tokens/s after each answer')
    .addOption(new Option('--format <format>', 'answer in JSON').choices(['json']))
    .option(
      '--think [level]',
      "a thinking model's thought: true (the flag alone), false, low, medium or high",
    )
    .option('--hidethinking', 'let a thinking model think, without printing the thought')
    .action(async (model: string, given: string[], flags: RunFlags) => {
      const { think, words } = splitThink(flags.think, given);
      const session = new ChatSession(context, model, { ...flags, think });
      await session.check();
      const images = await Promise.all((flags.image ?? []).map(readImageBase64));
      let prompt = words.join(' ');
      if (prompt === '' && !context.stdinIsTty) prompt = (await readAll(context.stdin)).trim();
      if (prompt !== '') {
        await session.answer(prompt, undefined, images);
        return;
      }
      if (images.length > 0)
        throw new CliError(
          ExitCode.Usage,
          '--image goes with a prompt; in a chat, put the path in your message',
        );
      if (!context.stdinIsTty) throw new CliError(ExitCode.Usage, 'no prompt: give one, or pipe it on stdin');
      await session.interactive();
    });
}

async function readImageBase64(path: string): Promise<string> {
  return (await readImage(path)).toString('base64');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

const HELP = `Available commands:
  /set parameter NAME VALUE   set a sampling parameter (${parameterNames.join(', ')})
  /set system TEXT            set the system message
  /show info                  what the model is
  /show parameters            the parameters set in this session
  /show system                the system message
  /clear                      forget the conversation so far
  /bye                        leave (or Ctrl-D)
  /?, /help                   this help

A path to a picture (./photo.jpg) in a message sends it to a model that reads images.
Use """ to begin and end a message of several lines.
Ctrl-C stops an answer in progress; Ctrl-D or /bye leaves.
`;

class ChatSession {
  private readonly client: GatewayClient;
  private readonly messages: Message[] = [];
  /** Whether the model reads images (its /api/show capabilities). */
  private sees = false;
  private system: string | undefined;
  private readonly options: Json = {};
  private readonly paint;

  constructor(
    private readonly context: CliContext,
    private readonly model: string,
    private readonly flags: SessionFlags,
  ) {
    this.client = new GatewayClient(context);
    this.paint = painter(context.stdoutIsTty);
  }

  /** Fails early, with the right command to use, for a model that does not generate text. */
  async check(): Promise<void> {
    const show = await this.client.json<{ capabilities: string[]; details: { task?: string } }>(
      'POST',
      '/api/show',
      {
        json: { model: this.model },
      },
    );
    this.sees = show.capabilities.includes('vision');
    if ((this.flags.image?.length ?? 0) > 0 && !this.sees)
      throw new CliError(
        ExitCode.ServerRefused,
        `'${this.model}' does not read images (its capabilities: ${show.capabilities.join(', ')}); leave --image out`,
      );
    if (!show.capabilities.includes('completion')) {
      const task = show.details.task ?? 'non-text';
      const hint = otherCommand[task];
      throw new CliError(
        ExitCode.ServerRefused,
        `'${this.model}' is ${/^[aeiou]/.test(task) ? 'an' : 'a'} ${task} model, not a text model${hint ? `: use ${hint}` : ''}`,
      );
    }
  }

  /** Streams one answer to stdout; the conversation keeps it unless it was cancelled. */
  async answer(prompt: string, signal?: AbortSignal, images: string[] = []): Promise<void> {
    const turn: Message = { role: 'user', content: prompt, ...(images.length > 0 ? { images } : {}) };
    const messages: Message[] = [
      ...(this.system ? [{ role: 'system' as const, content: this.system }] : []),
      ...this.messages,
      turn,
    ];
    let text = '';
    let thought = false;
    let done: Json | undefined;
    const think = this.flags.think ?? (this.flags.hidethinking ? true : undefined);
    // The model's text is cleaned of control characters before any colour is added.
    const clean = (piece: string) => (this.context.stdoutIsTty ? forTerminal(piece) : piece);
    try {
      for await (const event of this.client.stream(
        '/api/chat',
        {
          model: this.model,
          messages,
          stream: true,
          ...(Object.keys(this.options).length > 0 ? { options: this.options } : {}),
          ...(this.flags.format ? { format: this.flags.format } : {}),
          ...(think === undefined ? {} : { think }),
        },
        signal,
      )) {
        const message = event.message as { content?: string; thinking?: string } | undefined;
        // The thought, dimmed between Ollama's own markers, unless hidden.
        if (message?.thinking && !this.flags.hidethinking) {
          if (!thought) this.context.stdout.write(this.paint.dim('Thinking...\n'));
          thought = true;
          this.context.stdout.write(this.paint.dim(clean(message.thinking)));
        }
        const piece = message?.content ?? '';
        if (piece) {
          if (thought && text === '') this.context.stdout.write(this.paint.dim('\n...done thinking.\n\n'));
          text += piece;
          this.context.stdout.write(clean(piece));
        }
        if (event.done === true) done = event;
      }
    } finally {
      if (text !== '' && !text.endsWith('\n')) this.context.stdout.write('\n');
    }
    this.messages.push(turn, { role: 'assistant', content: text });
    if (this.flags.verbose && done) this.context.stderr.write(stats(done));
  }

  async interactive(): Promise<void> {
    const { stdin, stdout } = this.context;
    const rl = createInterface({
      input: stdin,
      output: stdout,
      terminal: true,
      historySize: 200,
      prompt: '>>> ',
    });
    const queue: string[] = [];
    let waiting: ((line: string | undefined) => void) | undefined;
    let closed = false;
    let answering: AbortController | undefined;
    rl.on('line', (line) => {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve(line);
      } else queue.push(line);
    });
    rl.on('close', () => {
      closed = true;
      answering?.abort();
      waiting?.(undefined);
    });
    // Ctrl-C: stops the answer in progress; at the prompt, clears the line (leaving is Ctrl-D or /bye).
    rl.on('SIGINT', () => {
      if (answering) return answering.abort();
      stdout.write('\nUse Ctrl + d or /bye to exit.\n');
      // Ctrl-U: clears what was typed and draws the prompt afresh.
      rl.write(null, { ctrl: true, name: 'u' });
    });
    const next = (): Promise<string | undefined> =>
      queue.length > 0
        ? Promise.resolve(queue.shift())
        : closed
          ? Promise.resolve(undefined)
          : new Promise((resolve) => (waiting = resolve));

    stdout.write(this.paint.dim(`Chatting with ${this.model}. Send /? for help, /bye to leave.\n`));
    try {
      for (;;) {
        rl.setPrompt('>>> ');
        rl.prompt();
        let line = await next();
        if (line === undefined) break;
        if (line.trimStart().startsWith('"""')) {
          line = await this.multiLine(rl, line.trimStart().slice(3), next);
          if (line === undefined) break;
        }
        const text = line.trim();
        if (text === '') continue;
        if (text.startsWith('/')) {
          if (await this.command(text)) break;
          continue;
        }
        answering = new AbortController();
        try {
          // A model that reads images takes the pictures whose paths the message names.
          const found = this.sees ? promptImages(line) : { prompt: line, paths: [] };
          for (const path of found.paths) stdout.write(this.paint.dim(`Added image '${path}'\n`));
          const images = await Promise.all(found.paths.map(readImageBase64));
          await this.answer(found.prompt, answering.signal, images);
        } catch (error) {
          if (!answering.signal.aborted) {
            stdout.write(
              this.paint.red(`error: ${error instanceof Error ? error.message : String(error)}\n`),
            );
          } else stdout.write(this.paint.dim('(stopped)\n'));
          if (error instanceof CliError && error.exitCode === ExitCode.Usage) throw error;
        } finally {
          answering = undefined;
        }
      }
    } finally {
      rl.close();
    }
  }

  /** Lines up to the one ending `"""`, joined: Ollama's way of sending several lines. */
  private async multiLine(
    rl: Interface,
    first: string,
    next: () => Promise<string | undefined>,
  ): Promise<string | undefined> {
    const parts: string[] = [];
    let line: string | undefined = first;
    for (;;) {
      if (line.trimEnd().endsWith('"""')) {
        parts.push(line.trimEnd().slice(0, -3));
        return parts.join('\n');
      }
      parts.push(line);
      rl.setPrompt('... ');
      rl.prompt();
      line = await next();
      if (line === undefined) return undefined;
    }
  }

  /** A slash command; true when the session should end. */
  private async command(text: string): Promise<boolean> {
    const { stdout } = this.context;
    const [name = '', ...rest] = text.split(/\s+/);
    const say = (line: string) => stdout.write(`${line}\n`);
    switch (name) {
      case '/bye':
      case '/exit':
        return true;
      case '/?':
      case '/help':
        stdout.write(HELP);
        return false;
      case '/clear':
        this.messages.length = 0;
        say('Cleared the conversation.');
        return false;
      case '/set': {
        const [what, key, ...value] = rest;
        if (what === 'system' && key !== undefined) {
          this.system = text.replace(/^\/set\s+system\s+/, '');
          say('Set the system message.');
        } else if (what === 'parameter' && key !== undefined && value.length > 0) {
          try {
            chatParameter(this.options, key, value.join(' '));
            say(`Set parameter '${key}' to '${value.join(' ')}'.`);
          } catch (error) {
            say(this.paint.red(`error: ${(error as Error).message}`));
          }
        } else say('Usage: /set parameter NAME VALUE, or /set system TEXT');
        return false;
      }
      case '/show': {
        const what = rest[0];
        if (what === 'parameters') {
          const entries = Object.entries(this.options);
          say(
            entries.length === 0
              ? 'No parameters set; the model’s defaults apply.'
              : entries.map(([k, v]) => `${k.padEnd(16)}${JSON.stringify(v)}`).join('\n'),
          );
        } else if (what === 'system') say(this.system ?? 'No system message set.');
        else if (what === 'info') {
          const show = await this.client.json<{ details: Json; capabilities: string[] }>(
            'POST',
            '/api/show',
            {
              json: { model: this.model },
            },
          );
          for (const [key, value] of Object.entries(show.details))
            if (typeof value === 'string' && value !== '') say(`  ${key.padEnd(20)}${value}`);
          say(`  ${'capabilities'.padEnd(20)}${show.capabilities.join(', ')}`);
        } else say('Usage: /show info | parameters | system');
        return false;
      }
      default:
        say(`Unknown command '${name}'. Type /? for help.`);
        return false;
    }
  }
}

/**
 * What a model wrote, safe to show on a terminal: control characters (escape sequences that could
 * move the cursor, retitle the window or clear the screen) are dropped; newlines and tabs stay.
 */
export function forTerminal(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

/** `--verbose`'s lines, from the last streamed object (Ollama's counters, in nanoseconds). */
function stats(done: Json): string {
  const number = (key: string) => (typeof done[key] === 'number' ? (done[key] as number) : 0);
  const rate = (count: number, ns: number) => (ns > 0 ? `${((count * 1e9) / ns).toFixed(2)} tokens/s` : '-');
  return [
    `total duration:       ${(number('total_duration') / 1e6).toFixed(1)}ms`,
    `load duration:        ${(number('load_duration') / 1e6).toFixed(1)}ms`,
    `prompt eval count:    ${number('prompt_eval_count')} token(s)`,
    `prompt eval rate:     ${rate(number('prompt_eval_count'), number('prompt_eval_duration'))}`,
    `eval count:           ${number('eval_count')} token(s)`,
    `eval rate:            ${rate(number('eval_count'), number('eval_duration'))}`,
    '',
  ].join('\n');
}
