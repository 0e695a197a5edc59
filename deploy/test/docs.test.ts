// docs/deployment.md stays true to the repository: the files and folders it names exist, and the
// variables it names are ones the apps read.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configKeys as runnerKeys } from '@vmm/batch-runner';
import { configKeys as gatewayKeys } from '@vmm/gateway';
import { configKeys as workerKeys } from '@vmm/worker';

const root = fileURLToPath(new URL('../../', import.meta.url));
const text = readFileSync(join(root, 'docs/deployment.md'), 'utf8');

describe('docs/deployment.md', () => {
  it('names only paths that exist', () => {
    const paths = new Set(
      [...text.matchAll(/(?<![\w./-])((?:k8s|docker|apps|packages|proto)\/[\w./{},-]*[\w}])/g)].map(
        (match) => match[1] as string,
      ),
    );
    expect(paths.size).toBeGreaterThan(10);
    for (const path of paths) {
      // `k8s/workers/{cpu,cuda,openvino}` stands for three folders.
      const expanded = path.includes('{')
        ? (/\{([^}]*)\}/.exec(path)?.[1] ?? '').split(',').map((part) => path.replace(/\{[^}]*\}/, part))
        : [path];
      // A new backend's files are the example of what to add.
      for (const one of expanded.filter((p) => !p.includes('rocm')))
        expect({ path: one, exists: existsSync(join(root, one)) }).toEqual({ path: one, exists: true });
    }
  });

  it('names only variables the apps read', () => {
    // VMM_RESTART_LIMIT is `vmm serve`'s own (the dev box's supervisor), not an app's.
    const known = new Set([...gatewayKeys, ...workerKeys, ...runnerKeys, 'VMM_RESTART_LIMIT']);
    const named = new Set(
      [...text.matchAll(/\b(VMM_[A-Z_]+|REDIS_URL|LOG_LEVEL)\b/g)].map((m) => m[1] as string),
    );
    expect(named.size).toBeGreaterThan(5);
    for (const name of named) expect({ name, read: known.has(name) }).toEqual({ name, read: true });
  });

  it('applies the overlays that exist', () => {
    for (const match of text.matchAll(/kubectl apply -k (k8s\/[\w/-]+)/g))
      expect(existsSync(join(root, match[1] as string, 'kustomization.yaml'))).toBe(true);
  });
});
