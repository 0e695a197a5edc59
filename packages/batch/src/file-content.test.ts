import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCode } from '@vmm/errors';
import { DiskFileContent } from './file-content.js';

const id = (n: number) => `file-${n.toString(16).padStart(32, '0')}`;
const text = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
};

describe('DiskFileContent', () => {
  let dir: string;
  let store: DiskFileContent;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmm-file-content-'));
    store = new DiskFileContent(join(dir, 'files'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('streams a file in, reads it back, and removes it', async () => {
    const bytes = await store.put(id(1), Readable.from([Buffer.from('{"a":'), Buffer.from('1}\n')]), 100);
    expect(bytes).toBe(8);
    expect(await text(await store.read(id(1)))).toBe('{"a":1}\n');
    await store.remove(id(1));
    await expect(store.read(id(1))).rejects.toMatchObject({ code: ErrorCode.NotFound });
    // Removing what is not there is no error.
    await store.remove(id(1));
  });

  it('keeps nothing of a file over the limit, or of a source that fails mid-way', async () => {
    await expect(
      store.put(id(2), Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), 100),
    ).rejects.toMatchObject({
      code: ErrorCode.PayloadTooLarge,
    });
    const failing = new Readable({ read() {} });
    const put = store.put(id(3), failing, 100);
    failing.push(Buffer.from('half'));
    failing.destroy(new Error('the client went away'));
    await expect(put).rejects.toThrow('the client went away');
    expect(readdirSync(join(dir, 'files'))).toEqual([]);
  });

  it('refuses an id that is not one FileStore makes (no path ever built from it)', async () => {
    await expect(store.put('../escape', Readable.from(['x']), 10)).rejects.toMatchObject({
      code: ErrorCode.Internal,
    });
    await expect(store.read('file-../../etc/passwd')).rejects.toMatchObject({ code: ErrorCode.Internal });
  });

  it('sweeps files and partial files older than the cutoff, and nothing else', async () => {
    await store.put(id(4), Readable.from(['old']), 10);
    await store.put(id(5), Readable.from(['new']), 10);
    writeFileSync(join(dir, 'files', `${id(6)}.part`), 'left by a crash');
    writeFileSync(join(dir, 'files', 'README'), 'not ours');
    const past = new Date(Date.now() - 3_600_000);
    for (const name of [id(4), `${id(6)}.part`, 'README']) utimesSync(join(dir, 'files', name), past, past);
    expect(await store.sweep(Date.now() - 60_000)).toBe(2);
    expect(readdirSync(join(dir, 'files')).sort()).toEqual(['README', id(5)]);
  });

  it('answers Unavailable, without the server’s path, when the directory cannot be written', async () => {
    writeFileSync(join(dir, 'blocked'), 'a file where the directory would be');
    const blocked = new DiskFileContent(join(dir, 'blocked', 'files'));
    const error = (await blocked.put(id(7), Readable.from(['x']), 10).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: ErrorCode.Unavailable });
    expect(error.message).toMatch(/^the files directory cannot be written \(E[A-Z]+\)/);
    expect(error.message).not.toContain(dir);
  });
});
