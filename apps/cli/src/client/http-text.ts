// Reading what a server sends back: error bodies in any API's shape, network failures in words,
// and streamed bodies line by line (NDJSON and server-sent events).

type Json = Record<string, unknown>;

/** The message of an error body in Ollama's, OpenAI's or VMM's shape, else the text itself. */
export function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as Json;
    const error = body.error;
    if (typeof error === 'string') return error;
    if (error && typeof error === 'object' && typeof (error as Json).message === 'string')
      return (error as Json).message as string;
  } catch {
    // not JSON: the text is the message
  }
  return text.trim().slice(0, 300) || 'no message';
}

/** Why no response came, in words ("connection refused" rather than "fetch failed"). */
export function networkError(error: unknown, host: string): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const code = cause?.code;
  const reason =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND'
        ? 'host not found'
        : (code ?? cause?.message ?? (error instanceof Error ? error.message : String(error)));
  return `cannot reach ${host}: ${reason}`;
}

/** A streamed body, line by line (the last line may lack its newline). */
export async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = '';
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let end = rest.indexOf('\n');
    while (end >= 0) {
      yield rest.slice(0, end).replace(/\r$/, '');
      rest = rest.slice(end + 1);
      end = rest.indexOf('\n');
    }
  }
  if (rest.length > 0) yield rest;
}
