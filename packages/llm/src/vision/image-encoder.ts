import { createHash } from 'node:crypto';
import { ErrorCode, VmmError } from '@vmm/errors';
import { createModelSession, halfToFloat, type ModelSession, type SessionOptions } from '@vmm/runtime';
import { IMAGE_ID_BASE, type ImageFeatures } from './image-features.js';
import type { ImageGrid } from './image-prompt.js';
import type { PreparedPicture } from './prepare-picture.js';

/** Encoded images kept for prompts that send them again (a chat resends its pictures every turn). */
export const DEFAULT_FEATURE_CACHE_BYTES = 64 * 2 ** 20;

interface Entry {
  first: number;
  count: number;
  /** How the image was cut, kept with its features: a cached image is not decoded again. */
  grid?: ImageGrid;
  features?: Float32Array;
}

/** An image's identity: the hash of its bytes. */
export const imageHash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * A vision-language model's vision encoder: pixels in, feature rows out, each image encoded once
 * while its features stay in a bounded cache (by bytes, least recently used first). It also
 * hands out each image's prompt ids (image-features.ts): from its hash, so the same picture
 * keeps the same ids while this encoder knows it, and ids are never given to another picture.
 */
export class ImageEncoder {
  private readonly entries = new Map<string, Entry>();
  private cachedBytes = 0;
  private nextId = IMAGE_ID_BASE;

  private constructor(
    private readonly session: ModelSession,
    private readonly cacheBytes: number,
  ) {}

  static async open(
    path: string,
    options: SessionOptions,
    cacheBytes = DEFAULT_FEATURE_CACHE_BYTES,
  ): Promise<ImageEncoder> {
    const session = await createModelSession(path, options);
    if (!session.inputs.some((input) => input.name === 'pixel_values')) {
      await session.release();
      throw new VmmError(ErrorCode.FailedPrecondition, 'the vision encoder has no pixel_values input');
    }
    if (!session.outputs.some((output) => output.name === 'image_features')) {
      await session.release();
      throw new VmmError(ErrorCode.FailedPrecondition, 'the vision encoder has no image_features output');
    }
    return new ImageEncoder(session, cacheBytes);
  }

  /** A cached image's features and how it was cut: it need not be decoded nor encoded again. */
  cached(hash: string, hidden: number): { grid: ImageGrid; features: ImageFeatures } | undefined {
    const entry = this.entries.get(hash);
    if (!entry?.features || !entry.grid) return undefined;
    this.touch(hash, entry);
    return {
      grid: entry.grid,
      features: { first: entry.first, count: entry.count, hidden, data: entry.features },
    };
  }

  /** The prompt ids for `count` feature rows of the image `hash` (the same while it is known). */
  ids(hash: string, count: number): number {
    const known = this.entries.get(hash);
    if (known && known.count === count) {
      this.touch(hash, known);
      return known.first;
    }
    if (known) this.drop(hash, known);
    const entry: Entry = { first: this.nextId, count };
    this.nextId += count;
    this.entries.set(hash, entry);
    // Ids without features are small; the map is still bounded.
    while (this.entries.size > 4096) {
      const [oldest, value] = this.entries.entries().next().value as [string, Entry];
      this.drop(oldest, value);
    }
    return entry.first;
  }

  /** The image's features, encoded now unless cached meanwhile; `ids` must have been asked first. */
  async features(hash: string, picture: PreparedPicture, hidden: number): Promise<ImageFeatures> {
    const entry = this.entries.get(hash);
    if (!entry) throw new VmmError(ErrorCode.Internal, 'image features asked for before their ids');
    if (!entry.features) {
      const data = await this.encode(picture, hidden, entry.count);
      entry.features = data;
      entry.grid = picture.grid;
      this.cachedBytes += data.byteLength;
      this.evict(hash);
    }
    this.touch(hash, entry);
    return { first: entry.first, count: entry.count, hidden, data: entry.features as Float32Array };
  }

  async release(): Promise<void> {
    this.entries.clear();
    this.cachedBytes = 0;
    await this.session.release();
  }

  private async encode(picture: PreparedPicture, hidden: number, rows: number): Promise<Float32Array> {
    const names = new Set(this.session.inputs.map((input) => input.name));
    const missing = Object.keys(picture.feeds).filter((name) => !names.has(name));
    if (missing.length > 0 || names.size !== Object.keys(picture.feeds).length) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `the vision encoder takes ${[...names].join(', ')}; the model's processor gives ${Object.keys(picture.feeds).join(', ')}`,
      );
    }
    const out = await this.session.run(picture.feeds, ['image_features']);
    const features = out.image_features;
    const size = features?.dims.reduce((a, b) => a * b, 1);
    if (!features || features.dims.at(-1) !== hidden || size !== rows * hidden) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `the vision encoder gave image_features ${String(features?.dims)}; the prompt holds ${rows} image rows of width ${hidden}`,
      );
    }
    return features.type === 'float16'
      ? halfToFloat(features.data as Uint16Array)
      : (features.data as Float32Array);
  }

  private touch(hash: string, entry: Entry): void {
    this.entries.delete(hash);
    this.entries.set(hash, entry);
  }

  private drop(hash: string, entry: Entry): void {
    this.entries.delete(hash);
    if (entry.features) this.cachedBytes -= entry.features.byteLength;
  }

  /** Features of the least recently used images go until the cache fits (never `keep`'s). */
  private evict(keep: string): void {
    for (const [hash, entry] of this.entries) {
      if (this.cachedBytes <= this.cacheBytes) return;
      if (hash === keep || !entry.features) continue;
      this.cachedBytes -= entry.features.byteLength;
      delete entry.features;
    }
  }
}
