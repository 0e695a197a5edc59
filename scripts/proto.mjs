#!/usr/bin/env node
// Generates packages/proto/src/gen from proto/ with buf + ts-proto, or checks that the
// committed code equals a fresh generation.
//
//   node scripts/proto.mjs generate             write packages/proto/src/gen
//   node scripts/proto.mjs check [--against D]  regenerate into a temporary folder and compare
//                                               with D (default packages/proto/src/gen);
//                                               exit 1 naming every differing file
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const generatedDir = join(root, 'packages/proto/src/gen');
// buf.gen.yaml writes to this path relative to buf's output base.
const outRelative = 'packages/proto/src/gen';

function generateInto(base) {
  const buf = join(root, 'node_modules/.bin/buf');
  const result = spawnSync(buf, ['generate', '--template', 'buf.gen.yaml', '-o', base], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    process.stderr.write(result.stderr || result.error?.message || 'buf generate failed\n');
    process.exit(2);
  }
  return join(base, outRelative);
}

function listFiles(dir) {
  const files = [];
  const walk = (current) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(relative(dir, path));
    }
  };
  walk(dir);
  return files.sort();
}

function readFilesOrEmpty(dir) {
  try {
    return listFiles(dir);
  } catch {
    return [];
  }
}

function compare(expectedDir, actualDir) {
  const expected = listFiles(expectedDir);
  const actual = readFilesOrEmpty(actualDir);
  const problems = [];
  for (const file of expected) {
    if (!actual.includes(file)) problems.push(`missing: ${file}`);
    else if (!readFileSync(join(expectedDir, file)).equals(readFileSync(join(actualDir, file)))) {
      problems.push(`differs: ${file}`);
    }
  }
  for (const file of actual) {
    if (!expected.includes(file)) problems.push(`not generated from proto/: ${file}`);
  }
  return problems;
}

const [command, ...rest] = process.argv.slice(2);
const temp = mkdtempSync(join(tmpdir(), 'vmm-proto-'));
try {
  const fresh = generateInto(temp);
  if (command === 'generate') {
    rmSync(generatedDir, { recursive: true, force: true });
    mkdirSync(generatedDir, { recursive: true });
    cpSync(fresh, generatedDir, { recursive: true });
    console.log(`generated ${listFiles(generatedDir).length} files into ${relative(root, generatedDir)}`);
  } else if (command === 'check') {
    const flag = rest.indexOf('--against');
    const against = flag >= 0 && rest[flag + 1] ? resolve(rest[flag + 1]) : generatedDir;
    const problems = compare(fresh, against);
    if (problems.length > 0) {
      console.error(`proto:check failed: ${relative(root, against) || against} is stale.`);
      for (const problem of problems) console.error(`  ${problem}`);
      console.error('Run `npm run proto:generate` and commit the result; never edit generated code.');
      process.exitCode = 1;
    } else {
      console.log('proto:check passed: generated code matches proto/.');
    }
  } else {
    console.error('usage: node scripts/proto.mjs generate | check [--against DIR]');
    process.exitCode = 2;
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
