import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import S3rver from 's3rver';

/**
 * An S3-compatible object store of a test's own on a free loopback port (s3rver, the bytes in a
 * temporary directory), for the file store's S3 path. It speaks S3's REST API, multipart uploads
 * included; it checks the access key but not the signature (the signer is checked against
 * AWS's published examples instead).
 */
export interface S3Server {
  /** http://127.0.0.1:PORT, for path-style addressing. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The keys of the objects stored in the bucket now. */
  keys(): string[];
  stop(): Promise<void>;
}

const SUFFIX = '._S3rver_object';

export async function startS3Server(bucket = 'vmm-files'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address = await server.run();
  const walk = (path: string): string[] =>
    readdirSync(path, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(path, entry.name)) : [join(path, entry.name)],
    );
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    keys: () =>
      walk(join(dir, bucket))
        .filter((path) => path.endsWith(SUFFIX))
        .map((path) => relative(join(dir, bucket), path).slice(0, -SUFFIX.length)),
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
