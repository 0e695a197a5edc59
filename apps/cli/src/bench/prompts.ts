// Prompt text for load generation. The client cannot count the server's tokens, so a prompt
// of "N tokens" is N common English words (one token each in Llama-style vocabularies, give or
// take); the report gives the prompt tokens the server itself counted.
const TEXT =
  'the people of the town were kind and they worked hard every day in the morning the fishermen went out to sea ' +
  'and in the evening they came home with their boats full of fish the children played on the beach and built ' +
  'castles in the sand one day a young girl found a small box it was old and made of wood she opened it and saw ' +
  'a map inside the map showed an island far away with a large tree and a red mark under it';
const WORDS = TEXT.split(' ');

/** A prompt of `words` words; `index` varies the start so that no two requests share a prefix. */
export function promptOf(words: number, index: number): string {
  const out = [`Request ${index}:`];
  for (let i = 0; out.length < words; i += 1) out.push(WORDS[(index * 7 + i) % WORDS.length] as string);
  return out.join(' ');
}
