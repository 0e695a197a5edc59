/**
 * A small seeded PRNG (mulberry32): the same seed gives the same weights on every machine,
 * which is what makes fixture files byte-identical across runs.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    // Fold the seed into 32 bits so that large seeds still differ.
    this.state = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [-scale, scale), filled into a new array. */
  uniform(count: number, scale: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i += 1) out[i] = (this.next() * 2 - 1) * scale;
    return out;
  }

  /** An independent stream for one named part, so adding a tensor never shifts the others. */
  fork(label: string): Prng {
    let hash = this.state;
    for (let i = 0; i < label.length; i += 1) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193) >>> 0;
    return new Prng(hash);
  }
}
