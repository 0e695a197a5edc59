import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, type Dirent } from 'node:fs';
import {
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { readdirSync, readFileSync, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, VmmError } from '@vmm/errors';
import { z } from 'zod';
import { type ModelParameters, parametersFromJson } from './model-parameters.js';
import { type ModelName, parseModelName } from './model-name.js';
import { StoreLock, type StoreLockOptions } from './store-lock.js';

export const DIGEST = /^sha256:[0-9a-f]{64}$/;

const fileSchema = z.object({
  path: z.string().min(1),
  digest: z.string().regex(DIGEST),
  size: z.number().int().nonnegative(),
});

const manifestSchema = z.object({
  schemaVersion: z.literal(1),
  name: z.string(),
  files: z.array(fileSchema).min(1),
  system: z.string().optional(),
  license: z.array(z.string()).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  from: z.string().optional(),
  source: z.object({ hub: z.string(), repo: z.string(), revision: z.string() }).optional(),
  createdAt: z.string(),
});

export type StoredFile = z.infer<typeof fileSchema>;

/** A tagged model in the store: its files by digest and what a Modelfile added. */
export interface ModelManifest {
  schemaVersion: 1;
  /** Canonical `path:tag`. */
  name: string;
  files: StoredFile[];
  system?: string;
  license?: string[];
  parameters?: ModelParameters;
  /** The model it was made from (`/api/create`'s `from`, `/api/copy`'s source). */
  from?: string;
  /** Where a pull fetched it: the Hub's address, repository and commit. */
  source?: { hub: string; repo: string; revision: string };
  createdAt: string;
}

/** A name the store can serve, and the folder holding its files. */
export interface ResolvedModel {
  name: ModelName;
  dir: string;
  /** Undefined for a plain folder. */
  manifest?: ModelManifest;
}

/** `onnx/model.onnx`: relative, forward slashes, no `..`, nothing hidden. */
export function checkStoredPath(path: string): string {
  const parts = path.split('/');
  if (
    path.length > 512 ||
    isAbsolute(path) ||
    path.includes('\\') ||
    parts.length > 4 ||
    parts.some((part) => !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(part) || part.includes('..'))
  ) {
    throw new VmmError(ErrorCode.InvalidArgument, `invalid file name "${path.slice(0, 200)}"`, {
      field: 'files',
    });
  }
  return path;
}

export function checkDigest(digest: string): string {
  if (!DIGEST.test(digest)) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `invalid digest "${digest.slice(0, 80)}": expected sha256:<64 hex>`,
      {
        field: 'digest',
      },
    );
  }
  return digest;
}

/**
 * VMM's model store, inside the models directory:
 *
 *   <models>/<name>/                     a plain folder, served as `<name>:latest`
 *   <models>/<name>-<tag>/               a plain folder for `<name>:<tag>` (kept from before tags)
 *   <models>/.vmm/blobs/sha256-<hex>     every stored file once, by content
 *   <models>/.vmm/manifests/<path>/<tag>.json   a tagged model: its files by digest, SYSTEM, PARAMETERs
 *   <models>/.vmm/trees/<hex>/           a manifest's files laid out as a model folder (hard links)
 *   <models>/.vmm/partial/               downloads in progress, resumed from where they stopped
 *
 * A manifest wins over a plain folder of the same name. Writes go to a temporary name first and
 * are renamed into place, so no reader ever sees half a blob, tree or manifest.
 */
/**
 * Parsed manifests by path, with the file version they were read from (readManifest): listings
 * read every manifest at each poll, and a manifest stored before the text bounds may hold tens of
 * MB of SYSTEM that would be parsed again each time. Entries leave when a listing no longer finds
 * their file (manifestNames), so deleted models' manifests are not kept; and the cache is bounded
 * by the bytes of the files its entries came from, oldest first out.
 */
const parsedManifests = new Map<string, { version: string; bytes: number; manifest: ModelManifest }>();
const PARSED_MANIFESTS_BYTES = 64 * 1024 * 1024;
let parsedManifestsBytes = 0;

function forgetManifest(path: string): void {
  const entry = parsedManifests.get(path);
  if (!entry) return;
  parsedManifests.delete(path);
  parsedManifestsBytes -= entry.bytes;
}

function rememberManifest(path: string, version: string, bytes: number, manifest: ModelManifest): void {
  forgetManifest(path);
  if (bytes > PARSED_MANIFESTS_BYTES) return;
  parsedManifests.set(path, { version, bytes, manifest });
  parsedManifestsBytes += bytes;
  while (parsedManifestsBytes > PARSED_MANIFESTS_BYTES)
    forgetManifest(parsedManifests.keys().next().value as string);
}

export class ModelStore {
  readonly home: string;
  /** Manifests, trees and collection change under this lock, across processes (`store-lock.ts`). */
  private readonly lock: StoreLock;

  constructor(
    readonly root: string,
    lockOptions: Partial<StoreLockOptions> = {},
  ) {
    this.home = join(resolve(root), '.vmm');
    this.lock = new StoreLock(this.home, lockOptions);
  }

  blobPath(digest: string): string {
    return join(this.home, 'blobs', checkDigest(digest).replace(':', '-'));
  }

  partialPath(key: string): string {
    return join(this.home, 'partial', key);
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  private manifestPath(name: ModelName): string {
    return join(this.home, 'manifests', ...name.segments, `${name.tag}.json`);
  }

  /** The name's manifest, or undefined; a manifest that does not parse is an error. */
  readManifest(name: ModelName): ModelManifest | undefined {
    const path = this.manifestPath(name);
    let info: Stats;
    try {
      info = statSync(path);
    } catch {
      forgetManifest(path);
      return undefined;
    }
    // Listings read every manifest at each poll: one unchanged since (the same file, size and
    // time; writes rename a new file into place) is not read and parsed again.
    const version = `${info.ino}:${info.size}:${info.mtimeMs}`;
    const cached = parsedManifests.get(path);
    if (cached?.version === version) return cached.manifest;
    const manifest = this.parseManifest(name, path);
    if (manifest) rememberManifest(path, version, info.size, manifest);
    else forgetManifest(path);
    return manifest;
  }

  private parseManifest(name: ModelName, path: string): ModelManifest | undefined {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
    let parsed: z.infer<typeof manifestSchema>;
    try {
      parsed = manifestSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new VmmError(ErrorCode.FailedPrecondition, `the manifest of "${name.canonical}" is damaged`, {
        cause: error,
      });
    }
    const { parameters, ...rest } = parsed;
    return { ...rest, ...(parameters ? { parameters: parametersFromJson(parameters) } : {}) };
  }

  /** Every manifest's canonical name, sorted. */
  manifestNames(): string[] {
    const base = join(this.home, 'manifests');
    if (!existsSync(base)) return [];
    const names: string[] = [];
    const seen = new Set<string>();
    for (const entry of readdirRetrying(base)) {
      if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
      const path = relative(base, join(entry.parentPath, entry.name)).split(sep).join('/');
      const slash = path.lastIndexOf('/');
      if (slash < 0) continue;
      names.push(`${path.slice(0, slash)}:${path.slice(slash + 1, -'.json'.length)}`);
      seen.add(join(entry.parentPath, entry.name));
    }
    // Cached manifests of this store whose files are gone (deleted models) are dropped.
    for (const cached of [...parsedManifests.keys()])
      if (cached.startsWith(base + sep) && !seen.has(cached)) forgetManifest(cached);
    return names.sort();
  }

  /** The plain folder for a name: `<name>` for `:latest`, else `<name>-<tag>`; undefined if none. */
  plainFolder(name: ModelName): string | undefined {
    if (name.segments.length !== 1) return undefined;
    const folder = name.tag === 'latest' ? name.path : `${name.path}-${name.tag}`;
    const root = resolve(this.root);
    const candidate = join(root, folder);
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      return undefined;
    }
    // A symlinked folder is followed but must stay inside the models directory.
    const inside = relative(realpathSync(root), real);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `model "${name.canonical}" resolves outside the models directory`,
        {
          field: 'model',
        },
      );
    }
    return statSync(real).isDirectory() ? real : undefined;
  }

  /** Where a name is served from, or undefined when the store has no such model. */
  resolve(nameOrParsed: string | ModelName): ResolvedModel | undefined {
    const name = typeof nameOrParsed === 'string' ? parseModelName(nameOrParsed) : nameOrParsed;
    const manifest = this.readManifest(name);
    if (manifest) return { name, dir: this.treeDirSync(manifest), manifest };
    const dir = this.plainFolder(name);
    return dir === undefined ? undefined : { name, dir };
  }

  private treeDir(files: readonly StoredFile[]): string {
    const key = createHash('sha256')
      .update(
        JSON.stringify([...files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => [f.path, f.digest])),
      )
      .digest('hex');
    return join(this.home, 'trees', key);
  }

  private treeDirSync(manifest: ModelManifest): string {
    const dir = this.treeDir(manifest.files);
    if (!existsSync(dir))
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `the files of "${manifest.name}" are missing from the store`,
      );
    return dir;
  }

  /** Lays out `files` as a folder of hard links to their blobs (copies across file systems). */
  async buildTree(files: readonly StoredFile[]): Promise<string> {
    const dir = this.treeDir(files);
    if (existsSync(dir)) return dir;
    const temporary = `${dir}.tmp-${randomUUID()}`;
    try {
      for (const file of files) {
        const target = join(temporary, ...checkStoredPath(file.path).split('/'));
        await mkdir(dirname(target), { recursive: true });
        const blob = this.blobPath(file.digest);
        if (!existsSync(blob))
          throw new VmmError(
            ErrorCode.FailedPrecondition,
            `blob ${file.digest} (${file.path}) is not in the store`,
            {
              field: 'files',
            },
          );
        await link(blob, target).catch(() => copyFile(blob, target));
      }
      await rename(temporary, dir).catch(async (error: NodeJS.ErrnoException) => {
        // Another writer laid out the same tree first: theirs is identical.
        if (!existsSync(dir)) throw error;
        await rm(temporary, { recursive: true, force: true });
      });
      return dir;
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * Writes `source` as a blob: hashed as it streams to a temporary file, refused past `maxBytes`
   * or when it does not hash to `expected`, renamed into place only when whole.
   */
  async writeBlob(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    { expected, maxBytes }: { expected?: string; maxBytes: number },
  ): Promise<StoredFile & { existed: boolean }> {
    if (expected !== undefined) checkDigest(expected);
    await mkdir(join(this.home, 'blobs'), { recursive: true });
    const temporary = join(this.home, 'blobs', `.tmp-${randomUUID()}`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        Readable.from(source),
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            size += chunk.byteLength;
            if (size > maxBytes)
              throw new VmmError(ErrorCode.PayloadTooLarge, `the blob is larger than ${maxBytes} bytes`, {
                field: 'body',
              });
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(temporary),
      );
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected !== undefined && digest !== expected) {
        throw new VmmError(
          ErrorCode.InvalidArgument,
          `digest mismatch: the data hashes to ${digest}, not ${expected}`,
          {
            field: 'digest',
          },
        );
      }
      const path = this.blobPath(digest);
      const existed = existsSync(path);
      if (existed) await unlink(temporary);
      else await rename(temporary, path);
      return { path: '', digest, size, existed };
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /** Moves a verified file (a finished download) into the blobs. */
  async adoptBlob(file: string, digest: string): Promise<void> {
    await mkdir(join(this.home, 'blobs'), { recursive: true });
    const path = this.blobPath(digest);
    if (existsSync(path)) await unlink(file);
    else await rename(file, path);
  }

  /** Hashes a file of a plain folder and links it into the blobs (no copy on one file system). */
  async importFile(path: string): Promise<{ digest: string; size: number }> {
    const hash = createHash('sha256');
    await pipeline(createReadStream(path), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) hash.update(chunk);
    });
    const digest = `sha256:${hash.digest('hex')}`;
    const blob = this.blobPath(digest);
    if (!existsSync(blob)) {
      await mkdir(dirname(blob), { recursive: true });
      const temporary = `${blob}.tmp-${randomUUID()}`;
      await link(path, temporary).catch(() => copyFile(path, temporary));
      await rename(temporary, blob);
    }
    return { digest, size: (await stat(path)).size };
  }

  /** Every file of a plain folder as stored files (imported into the blobs). */
  async importFolder(dir: string): Promise<StoredFile[]> {
    const files: StoredFile[] = [];
    for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })) as Dirent[]) {
      if (!entry.isFile()) continue;
      const path = relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/');
      if (path.split('/').some((part) => part.startsWith('.'))) continue;
      files.push({ path: checkStoredPath(path), ...(await this.importFile(join(dir, path))) });
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /**
   * Stores a manifest: lays out its tree, lets `check` look at the folder (is it a model?), then
   * writes the manifest in one rename. A failed check leaves no manifest behind. All of it holds
   * the store's lock: no collection runs between the tree's layout and the manifest that keeps
   * it, and no two writers of one name interleave.
   */
  async saveManifest(
    manifest: ModelManifest,
    check?: (dir: string) => void | Promise<void>,
  ): Promise<string> {
    const name = parseModelName(manifest.name);
    const paths = new Set<string>();
    for (const file of manifest.files) {
      checkStoredPath(file.path);
      if (paths.has(file.path))
        throw new VmmError(ErrorCode.InvalidArgument, `file ${file.path} is listed twice`, {
          field: 'files',
        });
      paths.add(file.path);
    }
    return this.lock.run(async () => {
      const dir = await this.buildTree(manifest.files);
      try {
        await check?.(dir);
      } catch (error) {
        await this.collect();
        throw error;
      }
      const path = this.manifestPath(name);
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.tmp-${randomUUID()}`;
      await writeFile(temporary, `${JSON.stringify({ ...manifest, name: name.canonical }, null, 2)}\n`);
      await rename(temporary, path);
      return dir;
    });
  }

  /** Removes a name: its manifest (then unreferenced blobs and trees), or its plain folder. */
  async remove(nameOrParsed: string | ModelName): Promise<boolean> {
    const name = typeof nameOrParsed === 'string' ? parseModelName(nameOrParsed) : nameOrParsed;
    return this.lock.run(async () => {
      // Read under the lock: a delete racing another delete of the name finds it gone.
      const manifest = this.readManifest(name);
      if (manifest) {
        await unlink(this.manifestPath(name));
        await this.removeEmptyParents(dirname(this.manifestPath(name)));
        await this.collect(manifest.files.map((file) => file.digest));
        return true;
      }
      const folder = this.plainFolder(name);
      if (folder === undefined) return false;
      const given = join(resolve(this.root), name.tag === 'latest' ? name.path : `${name.path}-${name.tag}`);
      // A symlinked folder: the link goes, what it points at stays.
      if ((await lstat(given)).isSymbolicLink()) await unlink(given);
      else await rm(folder, { recursive: true, force: true });
      return true;
    });
  }

  private async removeEmptyParents(dir: string): Promise<void> {
    const base = join(this.home, 'manifests');
    let current = dir;
    while (current.startsWith(base + sep)) {
      if ((await readdir(current)).length > 0) return;
      await rm(current, { recursive: true });
      current = dirname(current);
    }
  }

  /**
   * Deletes trees no manifest refers to, and blobs none does that were `released` (a deleted
   * model's) or are over an hour old: a blob uploaded for a create still to come is kept.
   */
  collectGarbage(released: readonly string[] = []): Promise<void> {
    return this.lock.run(() => this.collect(released));
  }

  /** collectGarbage, for callers that hold the lock. */
  private async collect(released: readonly string[] = []): Promise<void> {
    const freed = new Set(released.map((digest) => digest.replace(':', '-')));
    const used = new Set<string>();
    const trees = new Set<string>();
    for (const canonical of this.manifestNames()) {
      let manifest: ModelManifest | undefined;
      try {
        manifest = this.readManifest(parseModelName(canonical));
      } catch {
        continue; // a damaged manifest keeps nothing alive, and is left for a person to see
      }
      if (!manifest) continue;
      for (const file of manifest.files) used.add(file.digest.replace(':', '-'));
      trees.add(this.treeDir(manifest.files));
    }
    // A blob uploaded (POST /api/blobs) for a create still to come is kept for an hour.
    const keepSince = Date.now() - 3600_000;
    const blobs = join(this.home, 'blobs');
    if (existsSync(blobs))
      for (const entry of await readdir(blobs)) {
        if (used.has(entry) || entry.startsWith('.tmp-')) continue;
        const path = join(blobs, entry);
        // A blob another process removed meanwhile (one that does not take this lock) is gone.
        const modified = await stat(path).then(
          (stats) => stats.mtimeMs,
          () => undefined,
        );
        if (modified === undefined) continue;
        if (freed.has(entry) || modified < keepSince) await rm(path, { force: true });
      }
    const treesDir = join(this.home, 'trees');
    if (existsSync(treesDir))
      for (const entry of await readdir(treesDir))
        if (!trees.has(join(treesDir, entry)))
          await rm(join(treesDir, entry), { recursive: true, force: true });
  }

  /** The bytes of a stored small file (tokenizer_config.json, say), by path in a manifest. */
  async readStoredFile(manifest: ModelManifest, path: string): Promise<Buffer | undefined> {
    const file = manifest.files.find((candidate) => candidate.path === path);
    return file ? readFile(this.blobPath(file.digest)) : undefined;
  }
}

/**
 * A recursive listing that a concurrent delete may cut (a folder gone between its listing and
 * its reading, ENOENT): listed again, a few times, rather than failing a listing.
 */
function readdirRetrying(dir: string): Dirent[] {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
    }
  }
}
