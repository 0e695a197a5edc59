import { ErrorCode, VmmError } from '@vmm/errors';
import type { MessageImage } from '@vmm/proto';
import { z } from 'zod';
import { decodeBase64Image } from './vision.js';

// Pictures in chat messages, as Ollama (`images`: base64) and OpenAI (`image_url` content parts:
// data URLs, or remote URLs where the gateway is told to fetch them) send them. The worker
// bounds how many a request may send and their pixels; here each is only turned into bytes.

/** Pictures one message may name; the worker's VMM_MAX_CHAT_IMAGES bounds a request's. */
export const MAX_MESSAGE_IMAGES = 64;

/** A base64 picture, bare (Ollama) or as a data URL; empty or undecodable text is refused. */
export function chatImageBytes(text: string, field: string): Buffer {
  if (/^https?:\/\//i.test(text)) throw remoteImage(field);
  const bytes = decodeBase64Image(text);
  if (bytes.byteLength === 0) {
    throw new VmmError(ErrorCode.InvalidArgument, `${field} is not a base64 picture`, { field });
  }
  return bytes;
}

function remoteImage(field: string): VmmError {
  return new VmmError(
    ErrorCode.InvalidArgument,
    `${field}: remote image URLs are not fetched here (the gateway's VMM_ALLOW_IMAGE_URLS is off); send the picture as a data URL (data:image/png;base64,...)`,
    { field },
  );
}

/** Ollama's `images`: base64 pictures placed before the message's text. */
export const ollamaImages = z.array(z.string()).max(MAX_MESSAGE_IMAGES).optional();

export function ollamaMessageImages(images: readonly string[] | undefined, field: string): MessageImage[] {
  return (images ?? []).map((image, i) => {
    if (/^https?:\/\//i.test(image)) {
      throw new VmmError(ErrorCode.InvalidArgument, `${field}.${i}: Ollama's images are base64, not URLs`, {
        field: `${field}.${i}`,
      });
    }
    return { data: chatImageBytes(image, `${field}.${i}`), at: 0 };
  });
}

/** OpenAI's image content part: `image_url` as an object (`detail` is a hint VMM has no use for) or a string. */
export const openaiImagePart = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.union([
    z.string(),
    z.strictObject({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
  ]),
});

export const imagePartUrl = (part: z.infer<typeof openaiImagePart>): string =>
  typeof part.image_url === 'string' ? part.image_url : part.image_url.url;

/**
 * A message's content parts as text and pictures: the text joined, each picture where it sat
 * between the text parts (a UTF-16 offset into the joined text).
 */
export function textAndImages(
  parts: readonly ({ type: 'text'; text: string } | { type: 'image'; url: string })[],
  field: string,
): { content: string; images: MessageImage[] } {
  let content = '';
  const images: MessageImage[] = [];
  parts.forEach((part, i) => {
    if (part.type === 'text') content += part.text;
    else images.push({ data: chatImageBytes(part.url, `${field}.${i}`), at: content.length });
  });
  return { content, images };
}
