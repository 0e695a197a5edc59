import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ErrorCode, VmmError } from '@vmm/errors';
import { Agent, fetch, type Response } from 'undici';
import { checkFileId, holdErrors, notFound, tooLarge, type FileContent } from './file-content.js';
import { canonicalQuery, sha256Hex, signS3, type S3Credentials } from './s3-signer.js';

export interface S3FileContentOptions {
  /** `s3://bucket/prefix/`: the bucket, and a key prefix for VMM's files. */
  url: string;
  /**
   * An S3-compatible endpoint (MinIO, Ceph, R2…), addressed path-style; without it, AWS's
   * regional endpoint, virtual-hosted.
   */
  endpoint?: string | undefined;
  region: string;
  /**
   * Undefined: every call answers 503 saying so (the gateway still serves everything else,
   * e.g. while a Kubernetes Secret is yet to be created).
   */
  credentials: S3Credentials | undefined;
  /** Creates the bucket the first time the store says it does not exist (a fresh MinIO). */
  createBucket?: boolean;
  /** Uploads go as multipart in parts of this size, one part held in memory at a time. */
  partBytes?: number;
  /** Connect and answer-headers bound for each call; and the longest gap inside a body. */
  timeoutMs?: number;
}

const MIN_PART = 5 * 1024 * 1024; // S3's smallest part but the last

/**
 * Files in an S3-compatible object store, for gateways that run as several replicas: every
 * replica sees every upload. An upload is streamed in parts (bounded memory whatever its size)
 * and aborted, leaving nothing, on any failure. Expired files are removed with their metadata;
 * a lifecycle rule on the prefix catches what a gateway that died mid-way left (docs).
 */
export class S3FileContent implements FileContent {
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly base: URL;
  private readonly pathStyle: boolean;
  private readonly partBytes: number;
  private readonly agent: Agent;

  constructor(private readonly options: S3FileContentOptions) {
    // Prefixes of plain characters only: the key is then the same text on the wire and signed.
    const parsed = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/([\w./-]*))?$/.exec(options.url);
    if (!parsed?.[1])
      throw new VmmError(ErrorCode.InvalidArgument, `"${options.url}" is not an s3://bucket/prefix address`);
    this.bucket = parsed[1];
    const prefix = parsed[2] ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.pathStyle = options.endpoint !== undefined;
    this.base = new URL(options.endpoint ?? `https://${this.bucket}.s3.${options.region}.amazonaws.com`);
    this.partBytes = Math.max(MIN_PART, options.partBytes ?? 8 * 1024 * 1024);
    const timeout = options.timeoutMs ?? 30_000;
    this.agent = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout });
  }

  get where(): string {
    return `s3://${this.bucket}/${this.prefix} at ${this.base.origin}`;
  }

  private bucketPath(): string {
    return this.pathStyle ? `${this.base.pathname.replace(/\/$/, '')}/${this.bucket}` : '/';
  }

  private path(id: string): string {
    const key = `${this.prefix}${checkFileId(id)}`;
    return this.pathStyle ? `${this.base.pathname.replace(/\/$/, '')}/${this.bucket}/${key}` : `/${key}`;
  }

  private async call(
    method: string,
    id: string | undefined,
    query: Record<string, string> = {},
    body?: Buffer,
  ): Promise<Response> {
    const path = id === undefined ? this.bucketPath() : this.path(id);
    const credentials = this.options.credentials;
    if (!credentials)
      throw new VmmError(
        ErrorCode.Unavailable,
        `the file store (${this.where}) has no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        { retryAfterMs: 30_000 },
      );
    const headers = signS3({
      method,
      host: this.base.host,
      path,
      query,
      headers: body ? { 'content-length': String(body.byteLength) } : {},
      payloadHash: sha256Hex(body ?? ''),
      region: this.options.region,
      credentials,
      now: new Date(),
    });
    const url = new URL(this.base.origin);
    url.pathname = path;
    url.search = canonicalQuery(query);
    try {
      return await fetch(url, { method, headers, body: body ?? null, dispatcher: this.agent });
    } catch (error) {
      throw new VmmError(
        ErrorCode.Unavailable,
        `the file store (${this.where}) did not answer: ${(error as Error).message}`,
        { retryAfterMs: 1000 },
      );
    }
  }

  /** A non-2xx answer as a clear error, with S3's code, never the request's credentials. */
  private async fail(response: Response, what: string): Promise<never> {
    const text = await response.text().catch(() => '');
    const code = /<Code>([^<]{1,80})<\/Code>/.exec(text)?.[1] ?? `HTTP ${response.status}`;
    throw new VmmError(ErrorCode.Unavailable, `the file store (${this.where}) refused to ${what}: ${code}`, {
      retryAfterMs: 1000,
    });
  }

  private bucketMade = false;

  /** The error S3 gives for a bucket that does not exist, answered by creating it (once). */
  private async missingBucket(response: Response): Promise<boolean> {
    if (!this.options.createBucket || this.bucketMade || response.status !== 404) return false;
    const text = await response.text().catch(() => '');
    if (!text.includes('NoSuchBucket')) return false;
    this.bucketMade = true;
    const made = await this.call('PUT', undefined);
    if (!made.ok && made.status !== 409) await this.fail(made, 'create the bucket');
    await made.body?.cancel();
    return true;
  }

  async put(id: string, source: Readable, maxBytes: number): Promise<number> {
    let uploadId: string | undefined;
    const etags: string[] = [];
    let total = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const sendPart = async () => {
      const part = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      if (uploadId === undefined) {
        let created = await this.call('POST', id, { uploads: '' });
        if (await this.missingBucket(created)) created = await this.call('POST', id, { uploads: '' });
        if (!created.ok) await this.fail(created, 'start an upload');
        uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await created.text())?.[1];
        if (!uploadId)
          throw new VmmError(ErrorCode.Unavailable, `the file store (${this.where}) gave no upload id`);
      }
      const number = String(etags.length + 1);
      const sent = await this.call('PUT', id, { partNumber: number, uploadId }, part);
      if (!sent.ok) await this.fail(sent, `store part ${number}`);
      await sent.body?.cancel();
      etags.push(sent.headers.get('etag') ?? '');
    };
    holdErrors(source);
    try {
      for await (const piece of source as AsyncIterable<Buffer | string>) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
        total += chunk.byteLength;
        if (total > maxBytes) throw tooLarge(maxBytes);
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= this.partBytes) await sendPart();
      }
      if (uploadId === undefined) {
        // Small enough for one call.
        const whole = Buffer.concat(pending, pendingBytes);
        let put = await this.call('PUT', id, {}, whole);
        if (await this.missingBucket(put)) put = await this.call('PUT', id, {}, whole);
        if (!put.ok) await this.fail(put, 'store the file');
        await put.body?.cancel();
        return total;
      }
      if (pendingBytes > 0) await sendPart();
      const parts = etags
        .map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`)
        .join('');
      const done = await this.call(
        'POST',
        id,
        { uploadId },
        Buffer.from(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`),
      );
      // S3 may answer 200 with an error in the body when completion fails late.
      const text = done.ok ? await done.text() : '';
      if (!done.ok || text.includes('<Error>'))
        throw new VmmError(
          ErrorCode.Unavailable,
          `the file store (${this.where}) did not complete the upload`,
          {
            retryAfterMs: 1000,
          },
        );
      return total;
    } catch (error) {
      source.resume();
      if (uploadId !== undefined) {
        const aborted = await this.call('DELETE', id, { uploadId }).catch(() => undefined);
        await aborted?.body?.cancel();
      }
      throw error;
    }
  }

  async read(id: string): Promise<Readable> {
    const got = await this.call('GET', id);
    if (got.status === 404) {
      await got.body?.cancel();
      throw notFound(id);
    }
    if (!got.ok || !got.body) await this.fail(got, 'read the file');
    return Readable.fromWeb(got.body as WebReadableStream<Uint8Array>);
  }

  async remove(id: string): Promise<void> {
    const gone = await this.call('DELETE', id);
    await gone.body?.cancel();
    if (!gone.ok && gone.status !== 404) await this.fail(gone, 'remove the file');
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
