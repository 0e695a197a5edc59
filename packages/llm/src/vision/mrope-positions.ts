import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * A prompt's multimodal rotary positions (Qwen2-VL's M-RoPE): for each prompt token its time,
 * height and width positions (`positions`, [3 × length]: all times, then heights, then widths),
 * and `delta`, what a token after the prompt adds to its index (the positions a picture takes
 * are fewer than its tokens).
 */
export interface MropePositions {
  positions: Int32Array;
  delta: number;
}

/**
 * Positions as Qwen2VLForConditionalGeneration.get_rope_index gives them (for pictures): text
 * counts on from the last position; a picture after `<|vision_start|>` takes, for its merged
 * grid t × h × w, its start plus the patch's time, row and column; text after it counts on from
 * the largest position so far plus one. `grids` are the pictures' merged grids in prompt order.
 */
export function mropePositions(
  ids: readonly number[],
  grids: readonly (readonly [number, number, number])[],
  imageTokenId: number,
  visionStartId: number,
): MropePositions {
  const length = ids.length;
  const positions = new Int32Array(3 * length);
  const set = (index: number, t: number, h: number, w: number) => {
    positions[index] = t;
    positions[length + index] = h;
    positions[2 * length + index] = w;
  };
  let pictures = 0;
  for (let i = 0; i + 1 < length; i += 1)
    if (ids[i] === visionStartId && ids[i + 1] === imageTokenId) pictures += 1;
  if (pictures !== grids.length) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the prompt starts ${pictures} pictures (<|vision_start|><|image_pad|>) for ${grids.length} images`,
      { field: 'messages' },
    );
  }
  let next = 0;
  let at = 0;
  for (const [t, h, w] of grids) {
    let end = at + 1;
    while (end < length && ids[end] !== imageTokenId) end += 1;
    for (; at < end; at += 1, next += 1) set(at, next, next, next);
    const size = t * h * w;
    if (end + size > length) {
      throw new VmmError(ErrorCode.InvalidArgument, 'a picture has fewer image tokens than its grid', {
        field: 'messages',
      });
    }
    for (let i = 0; i < size; i += 1) {
      set(end + i, next + Math.floor(i / (h * w)), next + (Math.floor(i / w) % h), next + (i % w));
    }
    at = end + size;
    next += Math.max(t, h, w);
  }
  for (; at < length; at += 1, next += 1) set(at, next, next, next);
  return { positions, delta: next - length };
}

/** A token's three positions: from the prompt's table, or after it its index plus the delta. */
export function mropeAt(mrope: MropePositions, index: number): [number, number, number] {
  const length = mrope.positions.length / 3;
  if (index < length) {
    return [
      mrope.positions[index] as number,
      mrope.positions[length + index] as number,
      mrope.positions[2 * length + index] as number,
    ];
  }
  const position = index + mrope.delta;
  return [position, position, position];
}
