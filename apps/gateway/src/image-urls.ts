import { ErrorCode, VmmError } from '@vmm/errors';

/** How the gateway fetches a remote `image_url` when VMM_ALLOW_IMAGE_URLS is on. */
export interface ImageUrlOptions {
  /** The most bytes one picture may bring. */
  maxBytes: number;
  /** The longest one fetch may take, from asking to the last byte. */
  timeoutMs: number;
}

type Part = { type: string; image_url?: string | { url: string; detail?: string | undefined } };
type Message = { content?: string | Part[] | null | undefined };

const REMOTE = /^https?:\/\//i;

/** Remote pictures one request may name: each is fetched before the request is sent on. */
export const MAX_REMOTE_IMAGES = 16;

function failed(field: string, why: string): VmmError {
  return new VmmError(ErrorCode.InvalidArgument, `${field}: the image URL could not be fetched: ${why}`, {
    field,
  });
}

/** One remote picture as a data URL, bounded in size and time; the caller's abort ends it. */
async function fetchImage(
  url: string,
  field: string,
  options: ImageUrlOptions,
  signal: AbortSignal,
): Promise<string> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const both = AbortSignal.any([timeout, signal]);
  let response: Response;
  try {
    response = await fetch(url, { signal: both, redirect: 'follow' });
  } catch (error) {
    throw failed(
      field,
      timeout.aborted ? `no answer within ${options.timeoutMs} ms` : (error as Error).message,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw failed(field, `the server answered ${response.status}`);
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  if (!type.startsWith('image/')) {
    await response.body?.cancel();
    throw failed(field, `it is ${type || 'of no stated type'}, not an image`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > options.maxBytes) {
    await response.body?.cancel();
    throw failed(
      field,
      `it is ${declared} bytes; the limit is ${options.maxBytes} (VMM_IMAGE_URL_MAX_BYTES)`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += chunk.byteLength;
      if (total > options.maxBytes) {
        throw failed(field, `it is more than ${options.maxBytes} bytes (VMM_IMAGE_URL_MAX_BYTES)`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof VmmError) throw error;
    throw failed(
      field,
      timeout.aborted ? `it did not arrive within ${options.timeoutMs} ms` : (error as Error).message,
    );
  }
  return `data:${type};base64,${Buffer.concat(chunks).toString('base64')}`;
}

/**
 * Replaces every remote `image_url` of a chat body's messages by the picture it names, as a data
 * URL, fetched one after another (each bounded by `options`). Data URLs are left as they are.
 */
export async function fetchImageUrls(
  messages: readonly Message[],
  options: ImageUrlOptions,
  signal: AbortSignal,
): Promise<void> {
  let count = 0;
  for (const [i, message] of messages.entries()) {
    if (!Array.isArray(message.content)) continue;
    for (const [j, part] of message.content.entries()) {
      if (part.type !== 'image_url' || part.image_url === undefined) continue;
      const url = typeof part.image_url === 'string' ? part.image_url : part.image_url.url;
      if (!REMOTE.test(url)) continue;
      count += 1;
      if (count > MAX_REMOTE_IMAGES) {
        throw new VmmError(
          ErrorCode.InvalidArgument,
          `at most ${MAX_REMOTE_IMAGES} remote image URLs per request`,
          {
            field: `messages.${i}.content.${j}`,
          },
        );
      }
      const data = await fetchImage(url, `messages.${i}.content.${j}`, options, signal);
      part.image_url = typeof part.image_url === 'string' ? data : { ...part.image_url, url: data };
    }
  }
}
