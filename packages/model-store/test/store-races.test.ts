// Store mutations racing each other, from two writers sharing one directory (as workers sharing a
// volume do): a property test of 2 400 random operations, 16 at a time. Every failure must be a
// clear client error (VmmError below 500, never a raw ENOENT), and afterwards the store must be
// consistent: every manifest resolves to a tree whose files hash to their digests, every digest
// a manifest names is a blob, nothing half-written is left (issue 28, point 3).
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, httpStatusFor, VmmError } from '@vmm/errors';
import { Prng } from '@vmm/model-fixtures';
import { ModelStore, parseModelName, type StoredFile } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vmm-store-races-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const writers = [new ModelStore(dir), new ModelStore(dir)];
const contents = Array.from({ length: 8 }, (_, index) =>
  Buffer.from(`content ${index};`.repeat(200 + index)),
);
const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const names = ['alpha', 'beta:v1', 'beta:v2', 'gamma', 'lib/delta', 'epsilon:q4'];

it('keeps the store consistent through 2 400 concurrent random operations, with no 5xx', async () => {
  // Seeded (model-fixtures' mulberry32): a failure replays with the same operations.
  const prng = new Prng(28);
  const next = () => prng.next();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const counts = new Map<string, number>();
  const failures: string[] = [];

  const operation = async (index: number): Promise<void> => {
    const store = pick(writers);
    const kind = pick([
      'upload',
      'create',
      'create',
      'create',
      'copy',
      'copy',
      'delete',
      'delete',
      'collect',
    ]);
    try {
      if (kind === 'upload') await store.writeBlob([pick(contents)], { maxBytes: 1 << 20 });
      if (kind === 'create') {
        // Upload what the model needs, then create it (as /api/blobs then /api/create do).
        const chosen = [pick(contents), pick(contents)];
        const files: StoredFile[] = [];
        for (const [position, bytes] of chosen.entries()) {
          const stored = await store.writeBlob([bytes], { maxBytes: 1 << 20 });
          files.push({
            path: position === 0 ? 'model.onnx' : 'sub/labels.txt',
            digest: stored.digest,
            size: stored.size,
          });
        }
        await store.saveManifest(
          { schemaVersion: 1, name: pick(names), files, createdAt: new Date().toISOString() },
          // The check the worker runs (is it a model?) reads the laid-out folder.
          (tree) => {
            for (const file of files) readFileSync(join(tree, file.path));
          },
        );
      }
      if (kind === 'copy') {
        const source = store.readManifest(parseModelName(pick(names)));
        if (source)
          await store.saveManifest({ ...source, name: pick(names), createdAt: new Date().toISOString() });
      }
      if (kind === 'delete') await store.remove(pick(names));
      if (kind === 'collect') await store.collectGarbage();
      counts.set(`${kind} ok`, (counts.get(`${kind} ok`) ?? 0) + 1);
    } catch (error) {
      counts.set(`${kind} refused`, (counts.get(`${kind} refused`) ?? 0) + 1);
      if (!(error instanceof VmmError) || httpStatusFor(error.code) >= 500)
        failures.push(
          `#${index} ${kind}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        );
    }
  };

  const total = 2400;
  let started = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (started < total) await operation(started++);
    }),
  );
  expect(failures).toEqual([]);
  // Every kind of operation ran, and most succeeded: the property was tested, not refused.
  for (const kind of ['upload', 'create', 'copy', 'delete', 'collect'])
    expect(counts.get(`${kind} ok`) ?? 0).toBeGreaterThan(50);

  // Consistency, from a fresh reader.
  const reader = new ModelStore(dir);
  const stored = reader.manifestNames();
  expect(stored.length).toBeGreaterThan(0);
  for (const name of stored) {
    const resolved = reader.resolve(name);
    expect(resolved?.manifest).toBeDefined();
    for (const file of resolved?.manifest?.files ?? []) {
      expect([name, file.path, digestOf(readFileSync(join(resolved?.dir ?? '', file.path)))]).toEqual([
        name,
        file.path,
        file.digest,
      ]);
      expect(reader.hasBlob(file.digest)).toBe(true);
    }
  }
  expect(existsSync(join(reader.home, 'lock'))).toBe(false);
  expect(readdirSync(join(reader.home, 'trees')).filter((entry) => entry.includes('.tmp-'))).toEqual([]);
  expect(readdirSync(join(reader.home, 'blobs')).filter((entry) => entry.startsWith('.tmp-'))).toEqual([]);
  // And a collection then keeps every tree and blob the manifests name.
  await reader.collectGarbage();
  for (const name of stored) expect(reader.resolve(name)?.manifest).toBeDefined();
  // 2 400 operations on real files: about 10 s alone, over 30 s beside the rest of the suite on
  // a busy two-core machine.
}, 180_000);

describe('the store lock', () => {
  const lockDir = (store: ModelStore) => join(store.home, 'lock');
  const hold = (store: ModelStore, owner: object) => {
    mkdirSync(lockDir(store), { recursive: true });
    writeFileSync(join(lockDir(store), 'owner.json'), JSON.stringify(owner));
  };

  it('breaks a lock whose holder died, on this host', async () => {
    const store = new ModelStore(mkdtempSync(join(tmpdir(), 'vmm-store-lock-')));
    const gone = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    hold(store, { pid: gone.pid, host: hostname(), renewedAt: Date.now() });
    await store.collectGarbage();
    expect(existsSync(lockDir(store))).toBe(false);
    rmSync(store.root, { recursive: true, force: true });
  });

  it('answers "busy" (503, Retry-After) while a live holder keeps it past the wait', async () => {
    const store = new ModelStore(mkdtempSync(join(tmpdir(), 'vmm-store-lock-')), { waitMs: 300 });
    hold(store, { pid: process.ppid, host: hostname(), renewedAt: Date.now() });
    await expect(store.remove('alpha')).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
      retryAfterMs: 1000,
      message: expect.stringMatching(/the model store is busy \(pid \d+ on .*\); try again/),
    });
    // A claim not renewed for staleMs is a dead holder's, wherever it ran.
    const stale = new ModelStore(store.root, { waitMs: 300, staleMs: 1000 });
    hold(stale, { pid: 1, host: 'another-host', renewedAt: Date.now() - 5000 });
    expect(await stale.remove('alpha')).toBe(false);
    rmSync(store.root, { recursive: true, force: true });
  });
});
