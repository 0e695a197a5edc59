import { ErrorCode, VmmError } from '@vmm/errors';
import type { ChatMessage } from '../types.js';
import type { VisionLanguageSpec } from './vision-language-spec.js';

/**
 * How a picture was prepared: Idefics3's tile rows and columns (0 and 0: one tile), or Qwen2-VL's
 * patch grid (time, height, width, before merging).
 */
export type ImageGrid = { rows: number; cols: number } | { thw: readonly [number, number, number] };

/** Feature rows a picture becomes. */
export function imageRows(spec: VisionLanguageSpec, grid: ImageGrid): number {
  if (spec.kind === 'qwen2-vl') {
    const [t, h, w] = 'thw' in grid ? grid.thw : [0, 0, 0];
    return (t * h * w) / spec.image.mergeSize ** 2;
  }
  const { rows, cols } = 'rows' in grid ? grid : { rows: 0, cols: 0 };
  const tiles = rows === 0 && cols === 0 ? 1 : rows * cols + 1;
  return tiles * spec.imageSeqLen;
}

/** One picture's text in place of the template's image token, as the model's processor writes it. */
function imageText(spec: VisionLanguageSpec, grid: ImageGrid): string {
  if (spec.kind === 'qwen2-vl') return spec.imageToken.repeat(imageRows(spec, grid));
  const run = spec.imageToken.repeat(spec.imageSeqLen);
  const global = `${spec.fakeToken}${spec.globalToken}${run}${spec.fakeToken}`;
  const { rows, cols } = 'rows' in grid ? grid : { rows: 0, cols: 0 };
  if (rows === 0 && cols === 0) return global;
  let text = '';
  for (let r = 1; r <= rows; r += 1) {
    for (let c = 1; c <= cols; c += 1) text += `${spec.fakeToken}<row_${r}_col_${c}>${run}`;
    text += '\n';
  }
  return `${text}\n${global}`;
}

/**
 * A rendered prompt with each `<image>` the template wrote expanded for the image in its place,
 * in order. The count must match: a prompt that names more images than were sent (a user typing
 * `<image>`, say) or fewer is refused.
 */
export function expandImages(
  spec: VisionLanguageSpec,
  rendered: string,
  grids: readonly ImageGrid[],
  field: string,
): string {
  const pieces = rendered.split(spec.imageToken);
  if (pieces.length - 1 !== grids.length) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the prompt holds ${pieces.length - 1} image places (${spec.imageToken}) for ${grids.length} images`,
      { field },
    );
  }
  let out = pieces[0] as string;
  grids.forEach((grid, i) => {
    out += imageText(spec, grid) + (pieces[i + 1] as string);
  });
  return out;
}

/** A message's images in the order they sit in its text. */
export function orderedImages(message: ChatMessage): NonNullable<ChatMessage['images']> {
  return [...(message.images ?? [])].sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
}

export type ContentPart = { type: 'text'; text: string } | { type: 'image' };

/**
 * A message's content as Hugging Face's multimodal templates read it: text and image parts in
 * the order they were given (Ollama's `images` come before the text, as Ollama places them).
 */
export function contentParts(message: ChatMessage): ContentPart[] {
  const parts: ContentPart[] = [];
  let from = 0;
  for (const image of orderedImages(message)) {
    const at = Math.min(Math.max(image.at ?? 0, from), message.content.length);
    if (at > from) parts.push({ type: 'text', text: message.content.slice(from, at) });
    parts.push({ type: 'image' });
    from = at;
  }
  if (from < message.content.length || parts.length === 0)
    parts.push({ type: 'text', text: message.content.slice(from) });
  return parts;
}
