import { createHash } from 'node:crypto';
import { ErrorCode, VmmError } from '@vmm/errors';
import { createModelSession, halfToFloat, type ModelSession, type SessionOptions } from '@vmm/runtime';
import { OneAtATime } from '@vmm/vision';
import { IMAGE_ID_BASE, type ImageFeatures } from './image-features.js';
import type { ImageGrid } from './image-prompt.js';
import type { PreparedPicture } from './prepare-picture.js';

/** Encoded images kept for prompts that send them again (a chat resends its pictures every turn). */
export const DEFAULT_FEATURE_CACHE_BYTES = 64 * 2 ** 20;
/** Pictures whose ids are kept (with or without their features). */
const MAX_KNOWN_PICTURES = 4096;

interface Entry {
  first: number;
  count: number;
  /** How the picture was cut, kept with its features: a cached picture is not decoded again. */
  grid: ImageGrid;
  /** Gone once evicted: the ids stay the picture's, its features are encoded again when sent. */
  features?: Float32Array;
}

/** An image's identity: the hash of its bytes. */
export const imageHash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A picture the encoder has: how it was cut, and its features. */
export interface CachedPicture {
  grid: ImageGrid;
  features: ImageFeatures;
}

/**
 * A vision-language model's vision encoder: pixels in, feature rows (`hidden` wide, the decoder's
 * width) out, each picture encoded once while its features stay in a bounded cache (by bytes,
 * least recently used first). Each picture's prompt ids (image-features.ts) come from its hash,
 * so the same picture keeps the same ids while this encoder knows it, and ids are never given to
 * another picture.
 */
export class ImageEncoder {
  private readonly entries = new Map<string, Entry>();
  private cachedBytes = 0;
  private nextId = IMAGE_ID_BASE;
  /**
   * Requests' new pictures are decoded and encoded one request at a time, in arrival order:
   * eight requests encoding at once would each take the cores from the others and all start
   * late; one after another, the first starts decoding while the next encodes.
   */
  private readonly queue = new OneAtATime();

  private constructor(
    private readonly session: ModelSession,
    readonly hidden: number,
    private readonly cacheBytes: number,
  ) {}

  static async open(
    path: string,
    options: SessionOptions,
    hidden: number,
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
    return new ImageEncoder(session, hidden, cacheBytes);
  }

  /** A cached picture: it need not be decoded nor encoded again. */
  cached(hash: string): CachedPicture | undefined {
    const entry = this.entries.get(hash);
    if (!entry?.features || !entry.grid) return undefined;
    this.touch(hash, entry);
    return { grid: entry.grid, features: this.featuresOf(entry, entry.features) };
  }

  /** Runs one request's decoding and encoding after those that came before it. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.run(work);
  }

  /** The picture's `rows` feature rows and their prompt ids: encoded now, unless cached meanwhile. */
  async encode(hash: string, picture: PreparedPicture, rows: number): Promise<ImageFeatures> {
    let entry = this.entries.get(hash);
    if (entry?.features && entry.count === rows) {
      this.touch(hash, entry);
      return this.featuresOf(entry, entry.features);
    }
    const data = await this.run(picture, rows);
    // A picture whose features were evicted keeps its ids: a cached prefix holding it still fits.
    const first = entry?.count === rows ? entry.first : this.take(rows);
    if (entry) this.drop(hash, entry);
    entry = { first, count: rows, grid: picture.grid, features: data };
    this.entries.set(hash, entry);
    this.cachedBytes += data.byteLength;
    this.evict(hash);
    return this.featuresOf(entry, data);
  }

  async release(): Promise<void> {
    this.entries.clear();
    this.cachedBytes = 0;
    await this.session.release();
  }

  /** `rows` ids never given before. */
  private take(rows: number): number {
    const first = this.nextId;
    this.nextId += rows;
    return first;
  }

  private featuresOf(entry: Entry, data: Float32Array): ImageFeatures {
    return { first: entry.first, count: entry.count, hidden: this.hidden, data };
  }

  private async run(picture: PreparedPicture, rows: number): Promise<Float32Array> {
    const { hidden } = this;
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

  /**
   * Features of the least recently used pictures go until the cache fits (never `keep`'s); the
   * ids of pictures without features go past 4096 of them.
   */
  private evict(keep: string): void {
    for (const [hash, entry] of this.entries) {
      if (this.cachedBytes <= this.cacheBytes) break;
      if (hash === keep || !entry.features) continue;
      this.cachedBytes -= entry.features.byteLength;
      delete entry.features;
    }
    for (const [hash, entry] of this.entries) {
      if (this.entries.size <= MAX_KNOWN_PICTURES) break;
      if (hash !== keep) this.drop(hash, entry);
    }
  }
}
