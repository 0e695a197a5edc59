#!/usr/bin/env node
// The `vmm` command as npm links it (`npx vmm` in a clone, `vmm` once installed). A clone that
// has not been built yet builds the CLI first, so `npm ci && npx vmm --help` works.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  process.stderr.write('vmm: building the CLI (first run in this clone) ...\n');
  const built = spawnSync(
    'npx',
    ['turbo', 'run', 'build', '--filter=@vmm/cli', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (built.status !== 0) {
    process.stderr.write('vmm: the build failed; run `npm run build` in the clone and try again\n');
    process.exit(2);
  }
}
await import(main.href);
