import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, VmmError } from '@vmm/errors';
import { Agent, fetch as undiciFetch, type Response } from 'undici';
import type { HubReference } from './model-name.js';
import type { ModelManifest, ModelStore, StoredFile } from './model-store.js';
import {
  cpuVariantOrder,
  isVisionLanguageExport,
  onnxVariantOf,
  variantTags,
  visionCompanions,
} from './onnx-variant.js';

/** One line of a pull's progress, in Ollama's `/api/pull` shape. */
export interface PullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface HubOptions {
  /** `HF_ENDPOINT`: https://huggingface.co unless set. */
  endpoint: string;
  /** `HF_TOKEN`: sent to the Hub (never to another host a redirect leads to), never logged. */
  token?: string | undefined;
  /** The most bytes one pull may bring. */
  maxBytes: number;
  /** Tries per file after a dropped connection; each resumes where the last stopped. */
  attempts?: number;
  /**
   * How long a pull waits on the Hub (or the CDN it redirects to), in ms: for a connection, for
   * an answer's headers once asked, and for the next bytes of a body. A Hub that accepts and never
   * answers, or stops sending, fails the pull with a 504 instead of holding it (and its sockets)
   * until the caller leaves.
   */
  timeouts?: Partial<HubTimeouts>;
}

export interface HubTimeouts {
  connectMs: number;
  headersMs: number;
  idleMs: number;
}

export const defaultHubTimeouts: Readonly<HubTimeouts> = {
  connectMs: 10_000,
  headersMs: 30_000,
  idleMs: 60_000,
};

interface HubEntry {
  type: string;
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
}

/** Files a model folder needs besides its ONNX graph: configuration and tokenizer. */
const SIDE_FILE = /\.(json|txt|model|jinja|tiktoken)$/;
/** Small files are not stored in LFS; any larger one is refused rather than held in memory. */
const SMALL_FILE_BYTES = 32 * 1024 * 1024;
const MAX_PAGES = 100;
const MAX_REDIRECTS = 5;

function hubError(status: number, what: string, repo: string): VmmError {
  if (status === 401 || status === 403)
    return new VmmError(
      ErrorCode.PermissionDenied,
      `the Hub refused ${what} of ${repo} (HTTP ${status}): the repository is private or gated; set HF_TOKEN to a token that may read it`,
      { field: 'model' },
    );
  if (status === 404)
    return new VmmError(ErrorCode.NotFound, `${repo} was not found on the Hub (or has no such file)`, {
      field: 'model',
    });
  return new VmmError(ErrorCode.Unavailable, `the Hub answered HTTP ${status} to ${what} of ${repo}`);
}

/**
 * Pulls a model from a Hugging Face Hub repository into the store: lists the repository's
 * files at one commit, picks what the task needs (configuration and tokenizer files, the asked-for
 * ONNX variant and its external data), downloads each once (resuming with HTTP ranges after a
 * dropped connection, also in a later pull), checks LFS files against the Hub's sha256 and small
 * files against their git blob id, and only then writes the manifest: a partial pull is never a
 * model.
 */
export class HubPuller {
  private readonly endpoint: URL;
  private readonly timeouts: HubTimeouts;

  constructor(
    private readonly store: ModelStore,
    private readonly options: HubOptions,
  ) {
    this.timeouts = { ...defaultHubTimeouts, ...options.timeouts };
    this.endpoint = new URL(options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`);
  }

  async pull(
    reference: HubReference,
    progress: (line: PullProgress) => void,
    signal: AbortSignal,
    check: (dir: string) => void | Promise<void>,
  ): Promise<ModelManifest> {
    // A connection pool of this pull's own, destroyed when it ends however it ends: no socket to
    // the Hub outlives a pull (a failed or cancelled one included).
    const agent = new Agent({
      connect: { timeout: this.timeouts.connectMs },
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.idleMs,
    });
    try {
      return await this.pullWith(agent, reference, progress, signal, check);
    } finally {
      await agent.destroy();
    }
  }

  private async pullWith(
    agent: Agent,
    reference: HubReference,
    progress: (line: PullProgress) => void,
    signal: AbortSignal,
    check: (dir: string) => void | Promise<void>,
  ): Promise<ModelManifest> {
    const hub: Hub = { agent, signal };
    const { repo } = reference;
    progress({ status: 'pulling manifest' });
    const revision = await this.json<{ sha?: string }>(
      `api/models/${repo}/revision/main`,
      'the revision',
      repo,
      hub,
    );
    const commit = typeof revision.sha === 'string' ? revision.sha : 'main';
    const entries = await this.listFiles(repo, commit, hub);
    const chosen = this.choose(entries, reference);
    const total = chosen.reduce((sum, entry) => sum + entry.size, 0);
    if (total > this.options.maxBytes)
      throw new VmmError(
        ErrorCode.ResourceExhausted,
        `${repo} needs ${total} bytes, more than the pull limit of ${this.options.maxBytes} (VMM_PULL_MAX_BYTES)`,
      );
    const files: StoredFile[] = [];
    // Small files first: the progress lines of the large ones stay last, as in Ollama's pulls.
    for (const entry of [...chosen].sort((a, b) => a.size - b.size)) {
      signal.throwIfAborted();
      const url = new URL(
        `${repo}/resolve/${commit}/${entry.path.split('/').map(encodeURIComponent).join('/')}`,
        this.endpoint,
      );
      const file = entry.lfs
        ? await this.downloadLarge(url, entry, repo, progress, hub)
        : await this.downloadSmall(url, entry, repo, progress, hub);
      files.push(file);
    }
    progress({ status: 'verifying sha256 digest' });
    progress({ status: 'writing manifest' });
    const manifest: ModelManifest = {
      schemaVersion: 1,
      name: reference.name.canonical,
      files: files.sort((a, b) => (a.path < b.path ? -1 : 1)),
      source: { hub: this.endpoint.origin, repo, revision: commit },
      createdAt: new Date().toISOString(),
    };
    await this.store.saveManifest(manifest, check);
    progress({ status: 'success' });
    return manifest;
  }

  /** The configuration and tokenizer files, and one ONNX variant with its external data. */
  private choose(entries: HubEntry[], reference: HubReference): HubEntry[] {
    const files = entries.filter((entry) => entry.type === 'file');
    const graphs = files.filter(
      (entry) =>
        entry.path.endsWith('.onnx') && (!entry.path.includes('/') || entry.path.startsWith('onnx/')),
    );
    if (graphs.length === 0)
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `${reference.repo} has no ONNX export (VMM serves ONNX: try an onnx-community/ or Xenova/ repository)`,
        { field: 'model' },
      );
    const variantOf = (entry: HubEntry) => onnxVariantOf(posix.basename(entry.path));
    let order: readonly string[] = cpuVariantOrder;
    if (reference.variant !== undefined) {
      const wanted = variantTags[reference.variant.toLowerCase()];
      const named = graphs.find((entry) => posix.basename(entry.path, '.onnx') === reference.variant);
      if (named) order = [variantOf(named)];
      else if (wanted) order = wanted;
      else
        throw new VmmError(
          ErrorCode.NotFound,
          `${reference.repo} has no "${reference.variant}" variant (has ${graphs.map((entry) => entry.path).join(', ')})`,
          { field: 'model' },
        );
    }
    // A vision-language export: the decoder is chosen, its encoder and embedding come with it.
    const vlm = isVisionLanguageExport(graphs.map((entry) => posix.basename(entry.path)));
    const choices = vlm
      ? graphs.filter((entry) => posix.basename(entry.path).startsWith('decoder_model_merged'))
      : graphs;
    const graph = order.map((variant) => choices.find((entry) => variantOf(entry) === variant)).find(Boolean);
    if (!graph)
      throw new VmmError(
        ErrorCode.NotFound,
        `${reference.repo} has no ${reference.variant ?? 'usable'} ONNX file (has ${graphs.map((entry) => entry.path).join(', ')})`,
        { field: 'model' },
      );
    const paths = new Set(graphs.map((entry) => entry.path));
    const companions = vlm ? Object.values(visionCompanions(graph.path, (path) => paths.has(path))) : [];
    const chosen = [graph, ...graphs.filter((entry) => companions.includes(entry.path))];
    const external = files.filter((entry) =>
      chosen.some(
        (one) => entry.path.startsWith(`${one.path}_data`) || entry.path.startsWith(`${one.path}.data`),
      ),
    );
    const side = files.filter(
      (entry) =>
        SIDE_FILE.test(entry.path) && entry.path.split('/').length <= 2 && !entry.path.startsWith('onnx/'),
    );
    return [...chosen, ...external, ...side];
  }

  private async listFiles(repo: string, commit: string, hub: Hub): Promise<HubEntry[]> {
    const entries: HubEntry[] = [];
    let next: string | undefined = `api/models/${repo}/tree/${commit}?recursive=true`;
    for (let page = 0; next !== undefined; page += 1) {
      if (page >= MAX_PAGES) throw new VmmError(ErrorCode.ResourceExhausted, `${repo} lists too many files`);
      const response = await this.request(new URL(next, this.endpoint), {}, hub);
      if (!response.ok) throw hubError(response.status, 'the file list', repo);
      const body = await this.read(response, () => response.json() as Promise<unknown>, 'the file list', hub);
      if (!Array.isArray(body))
        throw new VmmError(ErrorCode.Unavailable, `the Hub's file list of ${repo} is not a list`);
      for (const item of body as HubEntry[]) {
        if (typeof item?.path !== 'string' || typeof item.type !== 'string') continue;
        entries.push(item);
      }
      // The Hub pages long listings with a Link header, as GitHub's API does.
      next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
    }
    return entries;
  }

  private async json<T>(path: string, what: string, repo: string, hub: Hub): Promise<T> {
    const response = await this.request(new URL(path, this.endpoint), {}, hub);
    if (!response.ok) throw hubError(response.status, what, repo);
    return this.read(response, () => response.json() as Promise<T>, what, hub);
  }

  /** Reads a body, naming a Hub that stopped sending it. */
  private async read<T>(response: Response, body: () => Promise<T>, what: string, hub: Hub): Promise<T> {
    try {
      return await body();
    } catch (error) {
      await response.body?.cancel().catch(() => undefined);
      throw this.asPullError(error, hub.signal, `the connection to the Hub dropped during ${what}`, what);
    }
  }

  /** A GET that follows redirects itself: the token goes only to the Hub's own origin. */
  private async request(url: URL, headers: Record<string, string>, hub: Hub): Promise<Response> {
    const { agent, signal } = hub;
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      const sameOrigin = current.origin === this.endpoint.origin;
      let response: Response;
      try {
        response = await undiciFetch(current, {
          dispatcher: agent,
          headers: {
            ...headers,
            'user-agent': 'vmm',
            ...(sameOrigin && this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
          },
          redirect: 'manual',
          signal,
        });
      } catch (error) {
        if (signal.aborted) throw new VmmError(ErrorCode.Cancelled, 'the pull was cancelled');
        const timedOut = this.timeoutOf(error, `${current.origin}${current.pathname}`);
        if (timedOut) throw timedOut;
        throw new VmmError(
          ErrorCode.Unavailable,
          `cannot reach the Hub at ${current.origin}: ${causeMessage(error)}`,
          {
            cause: error,
          },
        );
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        current = new URL(location, current);
        continue;
      }
      return response;
    }
    throw new VmmError(ErrorCode.Unavailable, `the Hub redirected more than ${MAX_REDIRECTS} times`);
  }

  /** A configuration file: read whole, checked against its git blob id, stored. */
  private async downloadSmall(
    url: URL,
    entry: HubEntry,
    repo: string,
    progress: (line: PullProgress) => void,
    hub: Hub,
  ): Promise<StoredFile> {
    const { signal } = hub;
    if (entry.size > SMALL_FILE_BYTES)
      throw new VmmError(ErrorCode.Unavailable, `${repo}: ${entry.path} is large but not in LFS`);
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await this.request(url, {}, hub);
        if (!response.ok) throw hubError(response.status, entry.path, repo);
        const bytes = Buffer.from(await this.read(response, () => response.arrayBuffer(), entry.path, hub));
        if (bytes.byteLength !== entry.size || (entry.oid !== undefined && gitBlobId(bytes) !== entry.oid))
          throw new VmmError(
            ErrorCode.Unavailable,
            `${repo}: ${entry.path} does not match the Hub's git blob id`,
          );
        const stored = await this.store.writeBlob([bytes], { maxBytes: SMALL_FILE_BYTES });
        progress({
          status: `pulling ${stored.digest.slice(7, 19)}`,
          digest: stored.digest,
          total: entry.size,
          completed: entry.size,
        });
        return { path: entry.path, digest: stored.digest, size: entry.size };
      } catch (caught) {
        const error = this.asPullError(
          caught,
          signal,
          `${repo}: the connection dropped during ${entry.path}`,
          entry.path,
        );
        if (!retryable(error, signal) || attempt >= attempts) throw error;
      }
    }
  }

  /**
   * An LFS file: downloaded into a partial file named by its digest, resumed with a Range
   * request after a dropped connection (here, or in a later pull), sha256-checked when whole.
   */
  private async downloadLarge(
    url: URL,
    entry: HubEntry & { lfs?: { oid: string; size: number } },
    repo: string,
    progress: (line: PullProgress) => void,
    hub: Hub,
  ): Promise<StoredFile> {
    const { signal } = hub;
    const digest = `sha256:${entry.lfs?.oid ?? ''}`;
    const size = entry.lfs?.size ?? entry.size;
    const status = `pulling ${digest.slice(7, 19)}`;
    const file: StoredFile = { path: entry.path, digest, size };
    if (this.store.hasBlob(digest)) {
      progress({ status, digest, total: size, completed: size });
      return file;
    }
    const partial = this.store.partialPath(`${digest.replace(':', '-')}.part`);
    await mkdir(dirname(partial), { recursive: true });
    const attempts = this.options.attempts ?? 3;
    let lastReport = 0;
    const report = (completed: number, force = false) => {
      const now = performance.now();
      if (!force && now - lastReport < 100) return;
      lastReport = now;
      progress({ status, digest, total: size, completed });
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        let have = existsSync(partial) ? (await stat(partial)).size : 0;
        if (have > size) {
          await rm(partial, { force: true });
          have = 0;
        }
        report(have, true);
        if (have < size) {
          const response = await this.request(url, have > 0 ? { range: `bytes=${have}-` } : {}, hub);
          if (response.status === 416) {
            await response.body?.cancel();
            await rm(partial, { force: true });
            throw new VmmError(ErrorCode.Unavailable, `${repo}: the Hub refused to resume ${entry.path}`);
          }
          if (!response.ok || !response.body) throw hubError(response.status, entry.path, repo);
          // 200 to a Range request: the server sends it all again, from the start.
          const resumed = response.status === 206 && have > 0;
          if (!resumed) have = 0;
          let written = have;
          // Each chunk is on disk before the next is read: a dropped connection loses nothing
          // that arrived, and the next try asks for the rest.
          const file = await open(partial, resumed ? 'a' : 'w');
          try {
            for await (const chunk of Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)) {
              const bytes = chunk as Uint8Array;
              written += bytes.byteLength;
              if (written > size) {
                await rm(partial, { force: true });
                throw new VmmError(
                  ErrorCode.Unavailable,
                  `${repo}: the Hub sent more of ${entry.path} than the ${size} bytes it listed; the download was deleted`,
                );
              }
              await file.write(bytes);
              report(written);
            }
          } finally {
            await file.close();
          }
          if (written < size)
            throw new VmmError(ErrorCode.Unavailable, `${repo}: the connection dropped during ${entry.path}`);
        }
        report(size, true);
        const actual = await sha256Of(partial);
        if (`sha256:${actual}` !== digest) {
          await rm(partial, { force: true });
          throw new VmmError(
            ErrorCode.Unavailable,
            `${repo}: ${entry.path} hashes to sha256:${actual}, not the Hub's ${digest}; the download was deleted`,
          );
        }
        await this.store.adoptBlob(partial, digest);
        return file;
      } catch (caught) {
        const error = this.asPullError(
          caught,
          signal,
          `${repo}: the connection dropped during ${entry.path}`,
          entry.path,
        );
        if (!retryable(error, signal) || attempt >= attempts) throw error;
      }
    }
  }

  /**
   * A socket that closed mid-body (undici's "terminated") is Unavailable, and worth another try;
   * an abort is Cancelled; a Hub that went quiet past a timeout is DeadlineExceeded, and not tried
   * again (the partial file stays: a later pull resumes it).
   */
  private asPullError(error: unknown, signal: AbortSignal, dropped: string, what: string): VmmError {
    if (signal.aborted) return new VmmError(ErrorCode.Cancelled, 'the pull was cancelled');
    if (error instanceof VmmError) return error;
    return this.timeoutOf(error, what) ?? new VmmError(ErrorCode.Unavailable, dropped, { cause: error });
  }

  /** undici's timeouts (found anywhere in an error's causes), said with the setting that bounds each. */
  private timeoutOf(error: unknown, what: string): VmmError | undefined {
    const codes = new Set<string>();
    for (let cause = error, depth = 0; cause instanceof Error && depth < 8; depth += 1) {
      const code = (cause as { code?: unknown }).code;
      if (typeof code === 'string') codes.add(code);
      cause = cause.cause;
    }
    const { connectMs, headersMs, idleMs } = this.timeouts;
    const said = codes.has('UND_ERR_CONNECT_TIMEOUT')
      ? `could not connect to the Hub for ${what} within ${connectMs} ms (VMM_PULL_CONNECT_TIMEOUT)`
      : codes.has('UND_ERR_HEADERS_TIMEOUT')
        ? `the Hub did not answer for ${what} within ${headersMs} ms (VMM_PULL_HEADERS_TIMEOUT)`
        : codes.has('UND_ERR_BODY_TIMEOUT')
          ? `the Hub sent nothing of ${what} for ${idleMs} ms (VMM_PULL_IDLE_TIMEOUT)`
          : undefined;
    return said === undefined ? undefined : new VmmError(ErrorCode.DeadlineExceeded, said, { cause: error });
  }
}

/** What a pull talks to the Hub with: its own connection pool, and the caller's signal. */
interface Hub {
  agent: Agent;
  signal: AbortSignal;
}

function causeMessage(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

function retryable(error: VmmError, signal: AbortSignal): boolean {
  return !signal.aborted && error.code === ErrorCode.Unavailable;
}

/** Git's blob id: sha1 of "blob <size>\0" and the bytes. */
function gitBlobId(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}
