// The S3 file store against a real S3-compatible server on loopback (s3rver): single and
// multipart uploads, reads, removal, and the failures (too large, unknown key, store away).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCode } from '@vmm/errors';
import { startS3Server, type S3Server } from '@vmm/test-support';
import { S3FileContent } from '../src/index.js';

const id = (n: number) => `file-${n.toString(16).padStart(32, '0')}`;
const MiB = 1024 * 1024;

/** `size` bytes that differ from part to part, in chunks as a socket gives them. */
function source(size: number, seed = 1): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(64 * 1024, size - sent));
      for (let i = 0; i < chunk.length; i += 1) chunk[i] = (sent + i) * seed + ((sent + i) >> 16);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

async function digest(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

describe('S3FileContent', () => {
  let s3: S3Server;
  let store: S3FileContent;
  beforeAll(async () => {
    s3 = await startS3Server();
    store = new S3FileContent({
      url: `s3://${s3.bucket}/uploads/`,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      partBytes: 5 * MiB,
      timeoutMs: 5000,
    });
  });
  afterAll(() => s3.stop());

  it('stores a small file in one call and reads it back', async () => {
    expect(await store.put(id(1), Readable.from([Buffer.from('{"a":1}\n')]), 100)).toBe(8);
    expect(s3.keys()).toContain(`uploads/${id(1)}`);
    expect(await digest(await store.read(id(1)))).toBe(
      createHash('sha256').update('{"a":1}\n').digest('hex'),
    );
  });

  it('streams a large file as a multipart upload, byte for byte', async () => {
    const size = 12 * MiB + 123;
    expect(await store.put(id(2), source(size), 20 * MiB)).toBe(size);
    expect(await digest(await store.read(id(2)))).toBe(await digest(source(size)));
  });

  it('removes a file, and reading it then is NotFound', async () => {
    await store.remove(id(1));
    expect(s3.keys()).not.toContain(`uploads/${id(1)}`);
    await expect(store.read(id(1))).rejects.toMatchObject({ code: ErrorCode.NotFound });
    await store.remove(id(1));
  });

  it('keeps no object of a file over the limit, in one part or after parts were sent', async () => {
    await expect(store.put(id(3), source(200), 100)).rejects.toMatchObject({
      code: ErrorCode.PayloadTooLarge,
    });
    await expect(store.put(id(4), source(11 * MiB), 10 * MiB)).rejects.toMatchObject({
      code: ErrorCode.PayloadTooLarge,
    });
    expect(s3.keys().filter((key) => key.includes(id(3)) || key.includes(id(4)))).toEqual([]);
  });

  it('says what the store refused (its code), never the credentials', async () => {
    const wrong = new S3FileContent({
      url: `s3://${s3.bucket}`,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'very-secret-value' },
    });
    const error = await wrong.put(id(5), Readable.from(['x']), 10).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: ErrorCode.Unavailable });
    expect((error as Error).message).toContain('InvalidAccessKeyId');
    expect((error as Error).message).not.toContain('very-secret-value');
  });

  it('answers Unavailable, quickly, when the store is not there', async () => {
    const away = new S3FileContent({
      url: 's3://vmm-files',
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      timeoutMs: 2000,
    });
    await expect(away.read(id(6))).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });

  it('creates a missing bucket when told to, and says NoSuchBucket when not', async () => {
    const options = {
      url: 's3://fresh-bucket/x',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    };
    const plain = new S3FileContent(options);
    await expect(plain.put(id(7), Readable.from([Buffer.from('x')]), 10)).rejects.toThrow('NoSuchBucket');
    const creating = new S3FileContent({ ...options, createBucket: true });
    expect(await creating.put(id(7), Readable.from([Buffer.from('made')]), 10)).toBe(4);
    expect(await digest(await creating.read(id(7)))).toBe(createHash('sha256').update('made').digest('hex'));
  });

  it('answers Unavailable naming what is missing when it has no credentials', async () => {
    const none = new S3FileContent({
      url: `s3://${s3.bucket}`,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: undefined,
    });
    await expect(none.read(id(1))).rejects.toThrow(
      'has no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  });
});
