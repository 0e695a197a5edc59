#!/usr/bin/env node
import { runCli } from './cli.js';
import { loadCliConfig } from './config.js';

let config;
try {
  config = loadCliConfig();
} catch (error) {
  process.stderr.write(`vmm: ${(error as Error).message}\n`);
  process.exit(2);
}
process.exitCode = await runCli(process.argv.slice(2), {
  config,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTty: process.stdin.isTTY === true,
  stdoutIsTty: process.stdout.isTTY === true,
  stderrIsTty: process.stderr.isTTY === true,
  fetch,
  startedAt: new Date(),
});
