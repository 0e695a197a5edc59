import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where `promtool` (Debian's `prometheus` package) is on PATH, or undefined. */
export function promtoolPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'promtool');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * `promtool check metrics` on an exposition: `ok` with no output when clean, otherwise what it
 * printed (one problem a line). Rejects when promtool cannot be run or takes over 20 s.
 */
export function promtoolCheck(
  text: string,
  promtool = promtoolPath(),
): Promise<{ ok: boolean; output: string }> {
  if (!promtool) return Promise.reject(new Error('promtool is not on PATH (apt-get install prometheus)'));
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal) reject(new Error(`promtool ended by ${signal}: ${output}`));
      else resolve({ ok: code === 0, output: output.trim() });
    });
    child.stdin.end(text);
  });
}
