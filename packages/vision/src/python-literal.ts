import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * Ultralytics writes `names` with Python's repr(): `{0: 'person', 1: "o'clock"}` — not JSON.
 * This reads that dict (or a list) of quoted strings, with Python's string escapes.
 */
export function parseNames(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || (trimmed.startsWith('{') && trimmed.includes('"') && isJson(trimmed))) {
    const value: unknown = JSON.parse(trimmed);
    if (Array.isArray(value)) return value.map(String);
    return fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [Number(k), String(v)]),
      text,
    );
  }
  const parser = new LiteralParser(trimmed);
  return fromEntries(parser.dict(), text);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function fromEntries(entries: [number, string][], text: string): string[] {
  const names: string[] = [];
  for (const [index, name] of entries) {
    if (!Number.isInteger(index) || index < 0 || index > 100_000)
      throw invalid(text, `bad class id ${index}`);
    names[index] = name;
  }
  for (let i = 0; i < names.length; i += 1) names[i] ??= `class_${i}`;
  return names;
}

/** `[640, 640]` or `640` → [height, width]. */
export function parseImageSize(text: string): [number, number] {
  const numbers = text.match(/\d+/g)?.map(Number) ?? [];
  const [first, second] = numbers;
  if (first === undefined || numbers.length > 2 || first <= 0 || (second !== undefined && second <= 0)) {
    throw invalid(text, 'expected imgsz like [640, 640]');
  }
  return [first, second ?? first];
}

/** Ultralytics' `kpt_shape`, `[17, 3]` → [points, values per point (2 or 3)]. */
export function parseKeypointShape(text: string): [number, 2 | 3] {
  const numbers = text.match(/\d+/g)?.map(Number) ?? [];
  const [count = 0, values] = numbers;
  if (numbers.length !== 2 || count < 1 || count > 1000 || (values !== 2 && values !== 3)) {
    throw invalid(text, 'expected kpt_shape like [17, 3]');
  }
  return [count, values];
}

function invalid(text: string, reason: string): VmmError {
  return new VmmError(
    ErrorCode.FailedPrecondition,
    `cannot read model metadata "${text.slice(0, 80)}": ${reason}`,
  );
}

class LiteralParser {
  private position = 0;

  constructor(private readonly text: string) {}

  dict(): [number, string][] {
    const entries: [number, string][] = [];
    this.expect('{');
    this.space();
    if (this.peek() === '}') {
      this.position += 1;
      return entries;
    }
    for (;;) {
      this.space();
      const key = this.integer();
      this.space();
      this.expect(':');
      this.space();
      entries.push([key, this.string()]);
      this.space();
      const next = this.text[this.position++];
      if (next === '}') break;
      if (next !== ',') throw invalid(this.text, `expected , or } at ${this.position - 1}`);
      this.space();
      if (this.peek() === '}') {
        this.position += 1;
        break;
      }
    }
    this.space();
    if (this.position !== this.text.length) throw invalid(this.text, 'trailing characters');
    return entries;
  }

  private peek(): string | undefined {
    return this.text[this.position];
  }

  private space(): void {
    while (/\s/.test(this.peek() ?? '')) this.position += 1;
  }

  private expect(char: string): void {
    if (this.text[this.position] !== char) throw invalid(this.text, `expected ${char} at ${this.position}`);
    this.position += 1;
  }

  private integer(): number {
    const match = /^\d+/.exec(this.text.slice(this.position));
    if (!match) throw invalid(this.text, `expected a class id at ${this.position}`);
    this.position += match[0].length;
    return Number(match[0]);
  }

  private string(): string {
    const quote = this.peek();
    if (quote !== "'" && quote !== '"')
      throw invalid(this.text, `expected a quoted name at ${this.position}`);
    this.position += 1;
    let out = '';
    for (;;) {
      const char = this.text[this.position++];
      if (char === undefined) throw invalid(this.text, 'unterminated string');
      if (char === quote) return out;
      if (char !== '\\') {
        out += char;
        continue;
      }
      const escaped = this.text[this.position++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
      if (escaped !== undefined && escaped in simple) out += simple[escaped];
      else if (escaped === 'x' || escaped === 'u') {
        const length = escaped === 'x' ? 2 : 4;
        const hex = this.text.slice(this.position, this.position + length);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== length) throw invalid(this.text, 'bad escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.position += length;
      } else throw invalid(this.text, `unknown escape \\${escaped ?? ''}`);
    }
  }
}
