import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join, relative, sep } from 'node:path';

/** A repository the fake Hub serves: files by path (read from a folder, or given). */
export interface FakeHubRepo {
  files: Map<string, Buffer>;
  /** Needs `Authorization: Bearer <token>` (a gated or private repository). */
  private?: boolean;
}

export interface FakeHubRequest {
  path: string;
  range: string | undefined;
  authorized: boolean;
  /** Which of the two servers answered: the Hub's API and resolve routes, or the LFS "CDN". */
  server: 'hub' | 'cdn';
}

export interface FakeHub {
  /** The Hub's address, for HF_ENDPOINT. */
  url: string;
  requests: FakeHubRequest[];
  /** The next download of `path` sends `bytes` bytes, then drops the connection. */
  dropAfter(path: string, bytes: number): void;
  /** Downloads of `path` flip a byte: the content no longer matches its LFS sha256. */
  corrupt(path: string): void;
  /** Throttles LFS downloads to about `bytesPerSecond` (progress bars, cancellation). */
  throttle(bytesPerSecond: number | undefined): void;
  /** The next download of `path` sends `bytes` bytes, then nothing more, its connection kept open. */
  stallAfter(path: string, bytes: number): void;
  /** Downloads of `path` send `extra` bytes more than the file list says it has. */
  lengthen(path: string, extra: number): void;
  /** While on, both servers accept every connection and request and never answer. */
  blackHole(on: boolean): void;
  /** Connections open now, to either server. */
  openConnections(): number;
  close(): Promise<void>;
}

/** Reads a model folder as a fake Hub repository (a model-fixtures folder, say). */
export function repoFromFolder(dir: string, options: { private?: boolean } = {}): FakeHubRepo {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isFile()) files.set(relative(dir, path).split(sep).join('/'), readFileSync(path));
  }
  return { files, ...options };
}

const isLfs = (path: string, bytes: Buffer) =>
  /\.(onnx|onnx_data|safetensors|bin|gguf)$/.test(path) ||
  path.includes('.onnx_data') ||
  bytes.byteLength > 10 * 1024 * 1024;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const gitBlobId = (bytes: Buffer) =>
  createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('fake hub did not bind');
  return `http://127.0.0.1:${address.port}`;
}

/**
 * A local HTTP server that answers as the Hugging Face Hub does for what a pull needs:
 * `GET /api/models/ORG/REPO/revision/REV` (the commit), `GET /api/models/ORG/REPO/tree/REV
 * ?recursive=true` (files with sizes, git blob ids and LFS sha256, paged with a Link header past
 * `pageSize` entries), `GET /ORG/REPO/resolve/REV/PATH` (small files directly; LFS files by a
 * 302 to a second server, another origin, as the Hub's CDN), with HTTP ranges, 401 for a private
 * repository without the token, 404s, and faults on demand.
 */
export async function startFakeHub(
  repos: Record<string, FakeHubRepo>,
  options: { token?: string; pageSize?: number } = {},
): Promise<FakeHub> {
  const requests: FakeHubRequest[] = [];
  const drops = new Map<string, number>();
  const corrupted = new Set<string>();
  const stalls = new Map<string, number>();
  const lengthened = new Map<string, number>();
  let blackHoled = false;
  let bytesPerSecond: number | undefined;
  const byDigest = new Map<string, { repo: string; path: string; bytes: Buffer }>();
  for (const [repo, { files }] of Object.entries(repos))
    for (const [path, bytes] of files)
      if (isLfs(path, bytes)) byDigest.set(sha256(bytes), { repo, path, bytes });
  const commit = (repo: string) => createHash('sha1').update(repo).digest('hex');
  const sockets = new Set<Socket>();

  const note = (req: IncomingMessage, server: 'hub' | 'cdn') =>
    requests.push({
      path: decodeURIComponent((req.url ?? '').split('?')[0] ?? ''),
      range: req.headers.range,
      authorized: options.token !== undefined && req.headers.authorization === `Bearer ${options.token}`,
      server,
    });

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

  /** Sends `bytes` honouring a Range header, throttled, dropped or corrupted as set. */
  function sendFile(req: IncomingMessage, res: ServerResponse, path: string, original: Buffer): void {
    const extra = lengthened.get(path) ?? 0;
    const source = extra > 0 ? Buffer.concat([original, Buffer.alloc(extra, 0x2a)]) : original;
    const bytes = corrupted.has(path) ? Buffer.from(source) : source;
    if (corrupted.has(path) && bytes.byteLength > 0) bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= bytes.byteLength) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.byteLength}` }).end();
        return;
      }
    }
    const body = bytes.subarray(start);
    res.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': String(body.byteLength),
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${bytes.byteLength - 1}/${bytes.byteLength}` } : {}),
    });
    const drop = drops.get(path);
    if (drop !== undefined) drops.delete(path);
    const stall = stalls.get(path);
    if (stall !== undefined) stalls.delete(path);
    const limit = drop ?? stall ?? body.byteLength;
    const chunk = 64 * 1024;
    let offset = 0;
    const pump = () => {
      if (res.destroyed) return;
      if (offset >= limit) {
        if (drop !== undefined) res.destroy();
        // A stall: the rest never comes, and the connection stays open until the client leaves.
        else if (stall === undefined) res.end();
        return;
      }
      const piece = body.subarray(offset, Math.min(limit, offset + chunk));
      offset += piece.byteLength;
      if (drop !== undefined && offset >= limit) {
        // Dropped once these bytes have reached the socket: the client gets exactly `drop` bytes.
        res.write(piece, () => res.destroy());
        return;
      }
      const more = res.write(piece);
      const delay = bytesPerSecond ? (piece.byteLength / bytesPerSecond) * 1000 : 0;
      if (delay > 0) setTimeout(pump, delay);
      else if (more) setImmediate(pump);
      else res.once('drain', pump);
    };
    pump();
  }

  const cdn = createServer((req, res) => {
    note(req, 'cdn');
    if (blackHoled) return;
    const digest = /^\/lfs\/([0-9a-f]{64})$/.exec((req.url ?? '').split('?')[0] ?? '')?.[1];
    const found = digest ? byDigest.get(digest) : undefined;
    if (found) sendFile(req, res, found.path, found.bytes);
    else json(res, 404, { error: 'Entry not found' });
  });
  const cdnUrl = await listen(cdn);

  const hub = createServer((req, res) => {
    note(req, 'hub');
    if (blackHoled) return;
    const url = new URL(req.url ?? '/', 'http://hub');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const api = parts[0] === 'api' && parts[1] === 'models';
    const repoName = api ? `${parts[2]}/${parts[3]}` : `${parts[0]}/${parts[1]}`;
    const repo = repos[repoName];
    if (!repo) return json(res, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
    if (repo.private && req.headers.authorization !== `Bearer ${options.token}`)
      return json(res, 401, { error: 'Invalid credentials in Authorization header' });
    if (api && parts[4] === 'revision') return json(res, 200, { id: repoName, sha: commit(repoName) });
    if (api && parts[4] === 'tree') {
      const entries = [...repo.files].map(([path, bytes]) => ({
        type: 'file',
        oid: gitBlobId(bytes),
        size: bytes.byteLength,
        path,
        ...(isLfs(path, bytes)
          ? { lfs: { oid: sha256(bytes), size: bytes.byteLength, pointerSize: 134 } }
          : {}),
      }));
      const pageSize = options.pageSize ?? 1000;
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = entries.slice(cursor, cursor + pageSize);
      const next = cursor + pageSize < entries.length ? cursor + pageSize : undefined;
      const link: Record<string, string> =
        next === undefined ? {} : { link: `<${url.pathname}?recursive=true&cursor=${next}>; rel="next"` };
      return json(res, 200, page, link);
    }
    if (!api && parts[2] === 'resolve') {
      const path = parts.slice(4).join('/');
      const bytes = repo.files.get(path);
      if (!bytes) return json(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      if (isLfs(path, bytes)) {
        res
          .writeHead(302, { location: `${cdnUrl}/lfs/${sha256(bytes)}`, 'x-repo-commit': commit(repoName) })
          .end();
        return;
      }
      return sendFile(req, res, path, bytes);
    }
    json(res, 404, { error: 'Not found' });
  });
  const url = await listen(hub);
  for (const server of [hub, cdn])
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });

  return {
    url,
    requests,
    dropAfter: (path, bytes) => drops.set(path, bytes),
    corrupt: (path) => corrupted.add(path),
    throttle: (rate) => (bytesPerSecond = rate),
    stallAfter: (path, bytes) => stalls.set(path, bytes),
    lengthen: (path, extra) => lengthened.set(path, extra),
    blackHole: (on) => (blackHoled = on),
    openConnections: () => sockets.size,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([hub, cdn].map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
