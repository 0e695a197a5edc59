import type { GenerationChunk } from '../src/index.js';

/** A whole stream: its chunks, the last one's `done`, the text and the token ids. */
export async function collect(stream: AsyncIterable<GenerationChunk>) {
  const chunks: GenerationChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return {
    chunks,
    done: chunks.at(-1)?.done,
    text: chunks.map((chunk) => chunk.text).join(''),
    ids: chunks.flatMap((chunk) => chunk.tokenIds),
  };
}
