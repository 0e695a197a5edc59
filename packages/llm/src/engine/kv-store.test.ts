import { describe, expect, it } from '@jest/globals';
import { KvStore } from './kv-store.js';

const shape = { layers: 2, kvHeads: 2, headDim: 4, type: 'float32' as const };

/** Writes position p of slot s as the values s·1000 + p·10 + head (one row per head). */
function fill(store: KvStore, slot: number, positions: number): void {
  for (let layer = 0; layer < shape.layers; layer += 1) {
    for (const kind of ['key', 'value'] as const) {
      const data = new Float32Array(positions * shape.kvHeads * shape.headDim);
      for (let p = 0; p < positions; p += 1) {
        for (let h = 0; h < shape.kvHeads; h += 1) {
          data.fill(slot * 1000 + p * 10 + h, (p * shape.kvHeads + h) * 4, (p * shape.kvHeads + h + 1) * 4);
        }
      }
      store.write(
        layer,
        kind,
        slot,
        0,
        { data, type: 'float32', layout: 'bsnh', seqLength: positions },
        0,
        0,
        positions,
      );
    }
  }
}

function read(store: KvStore, slot: number, positions: number): number[] {
  const past = store.past(1, 'value', slot, 1);
  const out: number[] = [];
  for (let h = 0; h < shape.kvHeads; h += 1) {
    for (let p = 0; p < positions; p += 1) out.push(past.data[(h * store.capacity + p) * 4] as number);
  }
  return out;
}

const expected = (slot: number, positions: number) =>
  Array.from({ length: shape.kvHeads }, (_, h) =>
    Array.from({ length: positions }, (_, p) => slot * 1000 + p * 10 + h),
  ).flat();

describe('KvStore', () => {
  it('keeps the rows of every slot through growth and shrinking, in place', () => {
    const store = new KvStore(shape);
    store.reserve(1 << 20);
    store.resize(3, 8);
    for (let slot = 0; slot < 3; slot += 1) fill(store, slot, 6);
    store.resize(4, 64);
    for (let slot = 0; slot < 3; slot += 1) expect(read(store, slot, 6)).toEqual(expected(slot, 6));
    expect(store.past(0, 'key', 1, 2).dims).toEqual([2, 2, 64, 4]);
    store.resize(4, 4);
    for (let slot = 0; slot < 3; slot += 1) expect(read(store, slot, 4)).toEqual(expected(slot, 4));
    expect(store.bytes).toBe(4 * 4 * 2 * 2 * 2 * 4 * 4);
  });

  it('refuses a layout past its reservation', () => {
    const store = new KvStore(shape);
    // 2 layers × 2 kinds × 2 heads × 4 dims × 4 bytes = 128 bytes per position.
    store.reserve(128 * 100);
    expect(() => store.resize(1, 100)).not.toThrow();
    expect(() => store.resize(2, 100)).toThrow(/exceeds its reservation/);
  });
});
