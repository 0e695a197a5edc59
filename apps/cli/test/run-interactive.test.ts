// `vmm run MODEL` with no prompt, on a terminal: a pseudo-terminal (util-linux `script`) stands
// between the test and the command, so readline sees a TTY and Ctrl-C arrives as a keypress.
// History, /set parameter, /show, multi-line input, Ctrl-C stopping an answer (not the
// session), /bye and Ctrl-D.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlamaFolder, writeVlmFolder } from '@vmm/model-fixtures';
import sharp from 'sharp';
import { removeRedisPrefix, waitFor } from '@vmm/test-support';
import { bin, type Server, startServer } from './cli-harness.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-cli-run-'));
const prefix = `vmm-cli-run-${process.pid}`;
let server: Server;

beforeAll(async () => {
  const models = join(root, 'models');
  writeLlamaFolder(join(models, 'tiny-llama'));
  // A few ms per token and a 2048-token context: an answer that runs long enough to interrupt.
  writeLlamaFolder(join(models, 'slow-llama'), { preset: 'medium' });
  writeVlmFolder(join(models, 'smolvlm'), { layout: 'idefics3', processor: { longestEdge: 1024 } });
  await sharp({ create: { width: 300, height: 200, channels: 3, background: '#c83c28' } })
    .png()
    .toFile(join(root, 'red picture.png'));
  server = await startServer(models, prefix);
});

afterAll(async () => {
  await server?.stop();
  await removeRedisPrefix(prefix).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

interface Terminal {
  child: ChildProcess;
  /** Everything shown so far, escape sequences removed. */
  screen(): string;
  type(keys: string): void;
  /** Waits until the screen, from `from` on, matches `pattern`; returns the screen's length then. */
  expect(pattern: RegExp, from?: number): Promise<number>;
  exited: Promise<number | null>;
}

function terminal(model: string, flags = ''): Terminal {
  const command = `"${process.execPath}" "${bin}" run ${model} ${flags}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, VMM_HOST: server.url, TERM: 'xterm', COLUMNS: '200', LINES: '50' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // eslint-disable-next-line no-control-regex
  const screen = () => output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  return {
    child,
    screen,
    exited,
    type: (keys) => child.stdin?.write(keys),
    expect: (pattern, from = 0) =>
      waitFor(
        `${pattern} on the terminal (it shows: ${JSON.stringify(screen().slice(from).slice(-600))})`,
        () => (pattern.test(screen().slice(from)) ? screen().length : 0),
        { timeoutMs: 20_000 },
      ),
  };
}

it('chats: parameters, history, multi-line input, /show, /bye', async () => {
  const tty = terminal('tiny-llama');
  try {
    let seen = await tty.expect(/Chatting with tiny-llama[\s\S]*>>> $/);
    tty.type('/set parameter num_predict 3\r');
    seen = await tty.expect(/Set parameter 'num_predict' to '3'\.\n>>> $/, seen);
    tty.type('/set parameter warmth 3\r');
    seen = await tty.expect(/error: unknown parameter 'warmth'/, seen);
    tty.type('/show parameters\r');
    seen = await tty.expect(/num_predict\s+3\n>>> $/, seen);
    tty.type('Hello there\r');
    // An answer (up to 3 tokens), then the prompt again.
    seen = await tty.expect(/Hello there\n([\s\S]*\n)?>>> $/, seen);
    // Up-arrow brings back the last line from the history.
    tty.type('\u001b[A');
    seen = await tty.expect(/Hello there$/, seen);
    tty.type('\u0015'); // Ctrl-U clears it again
    tty.type('"""first line\r');
    seen = await tty.expect(/\.\.\. $/, seen);
    tty.type('second line"""\r');
    seen = await tty.expect(/second line"""\n([\s\S]*\n)?>>> $/, seen);
    tty.type('/show info\r');
    seen = await tty.expect(/family\s+llama[\s\S]*capabilities\s+completion, tools\n>>> $/, seen);
    tty.type('/nonsense\r');
    await tty.expect(/Unknown command '\/nonsense'/, seen);
    tty.type('/bye\r');
    expect(await tty.exited).toBe(0);
  } finally {
    tty.child.kill('SIGKILL');
  }
}, 120_000);

it('Ctrl-C stops the answer in progress, not the session; Ctrl-D leaves', async () => {
  const tty = terminal('slow-llama');
  try {
    let seen = await tty.expect(/>>> $/);
    tty.type('/set parameter num_predict 1800\r');
    seen = await tty.expect(/Set parameter[^\n]*\n>>> $/, seen);
    tty.type('Tell me a long story\r');
    // Tokens are arriving: interrupt.
    seen = await tty.expect(/long story\n.{8,}/, seen);
    tty.type('\u0003');
    seen = await tty.expect(/\(stopped\)\n>>> $/, seen);
    // The session goes on: Ctrl-C at an empty prompt says how to leave.
    tty.type('\u0003');
    seen = await tty.expect(/Use Ctrl \+ d or \/bye to exit\.\n>>> $/, seen);
    tty.type('/set parameter num_predict 2\r');
    seen = await tty.expect(/Set parameter[^\n]*\n>>> $/, seen);
    tty.type('And now?\r');
    await tty.expect(/And now\?\n([\s\S]*\n)?>>> $/, seen);
    tty.type('\u0004');
    expect(await tty.exited).toBe(0);
  } finally {
    tty.child.kill('SIGKILL');
  }
}, 120_000);

it('a model that reads images takes the pictures whose paths a message names, and keeps them in the conversation', async () => {
  const tty = terminal('smolvlm', '--verbose');
  const picture = join(root, 'red picture.png').replaceAll(' ', '\\ ');
  try {
    let seen = await tty.expect(/>>> $/);
    tty.type('/set parameter num_predict 2\r');
    seen = await tty.expect(/Set parameter[^\n]*\n>>> $/, seen);
    tty.type(`What is in ${picture}?\r`);
    seen = await tty.expect(/Added image '[^']*red picture\.png'\n[\s\S]*eval rate:[^\n]*\n+>>> $/, seen);
    const counts = () =>
      [...tty.screen().matchAll(/prompt eval count:\s+(\d+) token/g)].map((m) => Number(m[1]));
    // 2×2 tiles and the whole: 320 image rows among the prompt's tokens.
    const [first = 0] = counts();
    expect(first).toBeGreaterThan(320);
    // The next turn sends the conversation again, the picture with it.
    tty.type('And the colour?\r');
    await tty.expect(/And the colour\?\n[\s\S]*eval rate:[^\n]*\n+>>> $/, seen);
    expect(counts()[1]).toBeGreaterThan(first);
    tty.type('/bye\r');
    expect(await tty.exited).toBe(0);
  } finally {
    tty.child.kill('SIGKILL');
  }
}, 120_000);
