// `npm run proto:check` is what keeps generated code honest; these tests show it passes on the
// committed code and fails on each way the code can go stale.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const generated = join(repoRoot, 'packages/proto/src/gen');
const temps: string[] = [];

function check(against?: string) {
  const args = ['scripts/proto.mjs', 'check', ...(against ? ['--against', against] : [])];
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function copyOfGenerated(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-proto-check-'));
  temps.push(dir);
  cpSync(generated, dir, { recursive: true });
  return dir;
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('proto:check', () => {
  it('passes on the committed generated code', () => {
    const result = check();
    expect(result.output).toContain('proto:check passed');
    expect(result.status).toBe(0);
  });

  it.each([
    [
      'a generated file is edited',
      (dir: string) => appendFileSync(join(dir, 'vmm/v1/inference.ts'), '\n// hand edit\n'),
      'differs: vmm/v1/inference.ts',
    ],
    [
      'a generated file is deleted',
      (dir: string) => rmSync(join(dir, 'vmm/v1/models.ts')),
      'missing: vmm/v1/models.ts',
    ],
    [
      'a stray file sits among the generated ones',
      (dir: string) => writeFileSync(join(dir, 'vmm/v1/extra.ts'), 'export {};\n'),
      'not generated from proto/: vmm/v1/extra.ts',
    ],
  ])('fails when %s, naming the file', (_name, spoil, expected) => {
    const dir = copyOfGenerated();
    expect(check(dir).status).toBe(0);
    spoil(dir);
    const result = check(dir);
    expect(result.status).toBe(1);
    expect(result.output).toContain(expected);
    expect(result.output).toContain('npm run proto:generate');
  });
});
