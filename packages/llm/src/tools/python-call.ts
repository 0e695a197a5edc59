/**
 * Calls written as Python, as Gemma's function-calling prompts have the model write them
 * (```tool_code fences holding `get_weather(city="Paris")`, or a list `[f(a=1), g(b="x")]`):
 * keyword arguments whose values are Python literals — strings, numbers, True/False/None,
 * lists, dicts. Anything else (positional arguments, expressions) is not a call.
 */
export interface PythonCall {
  name: string;
  args: Record<string, unknown>;
}

class Reader {
  at = 0;
  constructor(readonly text: string) {}

  space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at] as string)) this.at += 1;
  }

  peek(): string {
    this.space();
    return this.text[this.at] ?? '';
  }

  take(char: string): boolean {
    if (this.peek() !== char) return false;
    this.at += 1;
    return true;
  }

  name(): string | undefined {
    this.space();
    const match = /^[A-Za-z_][\w.]*/.exec(this.text.slice(this.at));
    if (!match) return undefined;
    this.at += match[0].length;
    return match[0];
  }

  value(depth = 0): unknown {
    if (depth > 32) throw new Error('too deep');
    const char = this.peek();
    if (char === '"' || char === "'") return this.string(char);
    if (char === '[' || char === '(') {
      const close = char === '[' ? ']' : ')';
      this.at += 1;
      const items: unknown[] = [];
      while (!this.take(close)) {
        items.push(this.value(depth + 1));
        if (!this.take(',') && this.peek() !== close) throw new Error('expected , in a list');
      }
      return items;
    }
    if (char === '{') {
      this.at += 1;
      const object: Record<string, unknown> = {};
      while (!this.take('}')) {
        const key = this.value(depth + 1);
        if (typeof key !== 'string' || !this.take(':')) throw new Error('expected a string key');
        object[key] = this.value(depth + 1);
        if (!this.take(',') && this.peek() !== '}') throw new Error('expected , in a dict');
      }
      return object;
    }
    const number = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(this.text.slice(this.at));
    if (number) {
      this.at += number[0].length;
      return Number(number[0]);
    }
    const word = this.name();
    if (word === 'True' || word === 'true') return true;
    if (word === 'False' || word === 'false') return false;
    if (word === 'None' || word === 'null') return null;
    throw new Error('not a literal');
  }

  private string(quote: string): string {
    this.at += 1;
    let out = '';
    const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
    while (this.at < this.text.length) {
      const char = this.text[this.at] as string;
      this.at += 1;
      if (char === quote) return out;
      if (char === '\\') {
        const next = this.text[this.at] ?? '';
        this.at += 1;
        out += escapes[next] ?? `\\${next}`;
      } else out += char;
    }
    throw new Error('unterminated string');
  }

  call(): PythonCall {
    const name = this.name();
    if (!name || !this.take('(')) throw new Error('not a call');
    const args: Record<string, unknown> = {};
    while (!this.take(')')) {
      const key = this.name();
      if (!key || !this.take('=')) throw new Error('only keyword arguments');
      args[key] = this.value();
      if (!this.take(',') && this.peek() !== ')') throw new Error('expected , between arguments');
    }
    return { name, args };
  }
}

/** The calls in `text` (one call, several on lines of their own, or a list of them), or undefined. */
export function parsePythonCalls(text: string): PythonCall[] | undefined {
  const reader = new Reader(text);
  const calls: PythonCall[] = [];
  try {
    const listed = reader.take('[');
    while (reader.peek() !== '' && !(listed && reader.peek() === ']')) {
      calls.push(reader.call());
      reader.take(',');
    }
    if (listed && !reader.take(']')) return undefined;
    return reader.peek() === '' && calls.length > 0 ? calls : undefined;
  } catch {
    return undefined;
  }
}
