type Json = Record<string, unknown>;

/** GPT-2's byte-to-character table, inverted: byte-level BPE vocabularies spell bytes this way. */
function byteLevelDecoder(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b += 1) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b += 1) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b += 1) bytes.push(b);
  const chars = [...bytes];
  let extra = 0;
  for (let b = 0; b < 256; b += 1) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + extra);
      extra += 1;
    }
  }
  return new Map(bytes.map((b, i) => [String.fromCodePoint(chars[i] as number), b]));
}

function decoderTypes(decoder: unknown): Json[] {
  if (typeof decoder !== 'object' || decoder === null) return [];
  const d = decoder as Json;
  if (d.type === 'Sequence' && Array.isArray(d.decoders)) return d.decoders.flatMap(decoderTypes);
  return [d];
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const encoder = new TextEncoder();

/**
 * The bytes each token id stands for in the middle of a text, read from `tokenizer.json`:
 * byte-level vocabularies (GPT-2, Llama 3, Qwen) through GPT-2's table; SentencePiece-style
 * ones (Llama 2, Mistral) with "▁" for a space and `<0xNN>` byte-fallback tokens. Special
 * tokens (BOS, EOS, chat markers) have none: constrained output never writes them.
 */
export function tokenBytesTable(tokenizerJson: Json): (Uint8Array | undefined)[] {
  const model = (tokenizerJson.model ?? {}) as Json;
  const vocab = new Map<string, number>();
  if (Array.isArray(model.vocab)) {
    (model.vocab as [string, number][]).forEach(([token], id) => vocab.set(token, id));
  } else if (typeof model.vocab === 'object' && model.vocab !== null) {
    for (const [token, id] of Object.entries(model.vocab as Record<string, number>)) vocab.set(token, id);
  }
  const special = new Set<number>();
  for (const added of (tokenizerJson.added_tokens ?? []) as Json[]) {
    if (typeof added.id !== 'number' || typeof added.content !== 'string') continue;
    if (added.special === true) special.add(added.id);
    else vocab.set(added.content, added.id);
  }
  let size = 0;
  for (const id of vocab.values()) size = Math.max(size, id + 1);
  for (const id of special) size = Math.max(size, id + 1);

  const decoders = decoderTypes(tokenizerJson.decoder);
  const byteLevel = decoders.some((d) => d.type === 'ByteLevel');
  const metaspace = decoders.find((d) => d.type === 'Metaspace');
  const replacement =
    typeof metaspace?.replacement === 'string'
      ? metaspace.replacement
      : decoders.some((d) => d.type === 'Replace' && (d.pattern as Json | undefined)?.String === '▁')
        ? '▁'
        : undefined;
  const byteFallback = model.byte_fallback === true || decoders.some((d) => d.type === 'ByteFallback');
  const table = byteLevel ? byteLevelDecoder() : undefined;

  const out: (Uint8Array | undefined)[] = new Array(size).fill(undefined);
  for (const [token, id] of vocab) {
    if (special.has(id)) continue;
    if (table) {
      const bytes: number[] = [];
      let ok = true;
      for (const char of token) {
        const b = table.get(char);
        if (b === undefined) ok = false;
        else bytes.push(b);
      }
      out[id] = ok ? Uint8Array.from(bytes) : encoder.encode(token);
      continue;
    }
    const byte = byteFallback ? BYTE_TOKEN.exec(token) : null;
    if (byte) {
      out[id] = Uint8Array.of(Number.parseInt(byte[1] as string, 16));
      continue;
    }
    out[id] = encoder.encode(replacement ? token.replaceAll(replacement, ' ') : token);
  }
  // The unknown token decodes to nothing useful.
  if (typeof model.unk_token === 'string') {
    const unk = vocab.get(model.unk_token);
    if (unk !== undefined) out[unk] = undefined;
  }
  for (let id = 0; id < out.length; id += 1) if (out[id]?.length === 0) out[id] = undefined;
  return out;
}
