// Renders kustomizations with the kustomize built into kubectl (or a standalone kustomize),
// as `kubectl apply -k` would, into plain objects.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { K8sObject } from './k8s-objects.js';

function onPath(command: string): boolean {
  return spawnSync(command, ['version'], { stdio: 'ignore' }).error === undefined;
}

let found: [string, string[]] | undefined;

/** `kustomize build DIR` where kustomize is installed, else `kubectl kustomize DIR` (looked up once). */
function kustomizeCommand(): [string, string[]] {
  if (found) return found;
  if (onPath('kustomize')) return (found = ['kustomize', ['build']]);
  if (onPath('kubectl')) return (found = ['kubectl', ['kustomize']]);
  throw new Error(
    'neither kustomize nor kubectl is on PATH: install kubectl ≥ 1.27 (kustomize v5 built in) to run the Kubernetes checks',
  );
}

/** The objects `kubectl apply -k dir` would send; throws with kustomize's message when it fails. */
export function render(dir: string): K8sObject[] {
  const [command, args] = kustomizeCommand();
  let output: string;
  try {
    output = execFileSync(command, [...args, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')} ${dir} failed: ${stderr.trim()}`, { cause: error });
  }
  return parseAllDocuments(output).map((document) => {
    if (document.errors.length > 0) throw document.errors[0];
    return document.toJS() as K8sObject;
  });
}

/**
 * Renders a kustomization written on the fly, as an operator's own overlay would be: `resources`
 * and `components` are directories; kustomize wants them relative to the kustomization.
 */
export function renderOverlay(kustomization: {
  resources: string[];
  components?: string[];
  [field: string]: unknown;
}): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-kustomize-'));
  try {
    const rel = (paths: string[] | undefined) => paths?.map((path) => relative(dir, path));
    const file = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      ...kustomization,
      resources: rel(kustomization.resources),
      components: rel(kustomization.components),
    };
    writeFileSync(join(dir, 'kustomization.yaml'), stringify(file));
    return render(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
