import {
  type BoundMemory,
  ELEMENT_BYTES,
  floatToHalf,
  halfToFloat,
  type TensorData,
  tensorArray,
  type TensorType,
} from '@vmm/runtime';
import type { RowLayout } from './kv-plan.js';

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  type: 'float32' | 'float16';
}

type KvArray = Float32Array | Uint16Array;

/** Bytes one token's keys and values take, all layers together. */
export function bytesPerToken(shape: KvShape): number {
  return shape.layers * 2 * shape.kvHeads * shape.headDim * ELEMENT_BYTES[shape.type];
}

/**
 * Every running sequence's KV cache, one slot per sequence, as one [slots, kv_heads, capacity,
 * head_dim] array per layer and kind: a slot's cache, and the first n slots together, are
 * contiguous views that are fed to the model without copying, and a step writes only its new
 * rows. Slots and capacity are resized (rows moved within the reserved arrays) as sequences join, lengthen
 * and leave: a forward pass costs in proportion to the capacity it is fed.
 */
export class KvStore {
  private arrays: KvArray[] = [];
  /** The memory under `arrays` when it comes from `allocate` (released with them). */
  private memory: BoundMemory[] = [];
  private slotCount = 0;
  private capacityValue = 0;
  /** Elements each array may hold: the budget's share (see `reserve`). */
  private maxElements = 0;

  /**
   * `allocate`, when given, supplies the arrays' memory: a bound session's, so that its runs
   * read and write the cache where it is (see BatchDecoder). Otherwise JavaScript's heap.
   */
  constructor(
    readonly shape: KvShape,
    private readonly allocate?: (bytes: number) => BoundMemory,
  ) {}

  /**
   * Sets the memory the store may use. Its arrays are allocated at that size on first use (the
   * pages of zeroed memory no slot has reached are never touched, so they cost no RAM), and a
   * resize moves rows within them instead of allocating and copying the whole store — a growth
   * then costs what is cached, not what is reserved, while other streams wait.
   */
  reserve(bytes: number): void {
    const element = this.shape.type === 'float16' ? 2 : 4;
    this.maxElements = Math.floor(bytes / (this.shape.layers * 2 * element));
    this.reset();
  }

  get slots(): number {
    return this.slotCount;
  }

  get capacity(): number {
    return this.capacityValue;
  }

  get bytes(): number {
    return this.slotCount * this.capacityValue * bytesPerToken(this.shape);
  }

  /**
   * Lays the store out as `slots` × `capacity`, keeping each slot's first `capacity` positions (a
   * smaller capacity cuts what lies beyond it). Positions past what was kept hold stale values:
   * no model input reaches them unmasked.
   */
  resize(slots: number, capacity: number): void {
    if (slots === this.slotCount && capacity === this.capacityValue) return;
    const { kvHeads, headDim } = this.shape;
    const needed = slots * kvHeads * capacity * headDim;
    if (needed > this.maxElements) {
      throw new RangeError(`a KV store of ${slots} × ${capacity} positions exceeds its reservation`);
    }
    if (this.arrays.length === 0) {
      this.arrays = Array.from({ length: this.shape.layers * 2 }, () => this.allocateArray(this.maxElements));
    }
    const rowsOld = this.capacityValue * headDim;
    const rowsNew = capacity * headDim;
    const kept = Math.min(rowsOld, rowsNew);
    const heads = Math.min(slots, this.slotCount) * kvHeads;
    for (const array of this.arrays) {
      // Growing moves blocks to higher offsets: last block first, so none overwrites one not yet
      // moved; shrinking moves them lower: first block first.
      if (rowsNew > rowsOld) {
        for (let head = heads - 1; head > 0; head -= 1) {
          array.copyWithin(head * rowsNew, head * rowsOld, head * rowsOld + kept);
        }
      } else {
        for (let head = 1; head < heads; head += 1) {
          array.copyWithin(head * rowsNew, head * rowsOld, head * rowsOld + kept);
        }
      }
    }
    this.slotCount = slots;
    this.capacityValue = capacity;
  }

  /** Frees everything (no sequence is running). */
  reset(): void {
    this.arrays = [];
    for (const memory of this.memory) memory.release();
    this.memory = [];
    this.slotCount = 0;
    this.capacityValue = 0;
  }

  /** The past of slots [first, first + count) for `layer`'s `kind`, as a model input. */
  past(layer: number, kind: 'key' | 'value', first: number, count: number): TensorData {
    const { kvHeads, headDim, type } = this.shape;
    const slotSize = kvHeads * this.capacityValue * headDim;
    const array = this.array(layer, kind);
    return {
      type,
      dims: [count, kvHeads, this.capacityValue, headDim],
      data: array.subarray(first * slotSize, (first + count) * slotSize),
    };
  }

  /**
   * Stores `count` new rows of one batch row of a step's output at positions `at`…: `rows` is
   * [batch, seq, kv_heads·head_dim] (bsnh) or [batch, kv_heads, seq, head_dim] (bnsh); `seqLength`
   * its seq dimension and `rowOffset` where in it the rows start.
   */
  write(
    layer: number,
    kind: 'key' | 'value',
    slot: number,
    at: number,
    rows: { data: Float32Array | Uint16Array; type: TensorType; layout: RowLayout; seqLength: number },
    batchIndex: number,
    rowOffset: number,
    count: number,
  ): void {
    const { kvHeads, headDim } = this.shape;
    const array = this.array(layer, kind);
    const convert = rows.type === this.shape.type ? undefined : rows.type;
    for (let head = 0; head < kvHeads; head += 1) {
      for (let s = 0; s < count; s += 1) {
        const row = rowOffset + s;
        const from =
          rows.layout === 'bsnh'
            ? ((batchIndex * rows.seqLength + row) * kvHeads + head) * headDim
            : ((batchIndex * kvHeads + head) * rows.seqLength + row) * headDim;
        const to = ((slot * kvHeads + head) * this.capacityValue + at + s) * headDim;
        const source = rows.data.subarray(from, from + headDim);
        if (convert === undefined) array.set(source, to);
        else if (convert === 'float32') array.set(floatToHalf(source as Float32Array), to);
        else array.set(halfToFloat(source as Uint16Array), to);
      }
    }
  }

  private array(layer: number, kind: 'key' | 'value'): KvArray {
    const array = this.arrays[layer * 2 + (kind === 'key' ? 0 : 1)];
    if (!array) throw new RangeError(`no KV array for layer ${layer}`);
    return array;
  }

  private allocateArray(length: number): KvArray {
    const { type } = this.shape;
    if (!this.allocate) return tensorArray(type, length) as KvArray;
    const memory = this.allocate(length * ELEMENT_BYTES[type]);
    this.memory.push(memory);
    return tensorArray(type, length, memory.data) as KvArray;
  }
}
