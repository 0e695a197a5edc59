import { ErrorCode, VmmError } from '@vmm/errors';

/** Where the image's bytes go as the scanner decodes them. */
export interface ImageSink {
  /** The top-level `image` string begins; `fieldsSoFar()` has the members before it. */
  start(): void;
  bytes(piece: Buffer): void;
  end(): void;
}

const notJson = (why: string) =>
  new VmmError(ErrorCode.InvalidArgument, `the request body is not valid JSON: ${why}`, { field: 'body' });
const notBase64 = () =>
  new VmmError(ErrorCode.InvalidArgument, 'image: must be base64 (optionally a data: URL)', {
    field: 'image',
  });

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const DATA_URL = /^data:[\w/+.-]+;base64,$/;
/** Base64 text decoded at a time: a multiple of 4 characters, 48 KiB of bytes. */
const DECODE_CHARS = 64 * 1024;

function isBase64Char(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2b ||
    c === 0x2f
  );
}

type State =
  | 'before'
  | 'key-or-end'
  | 'key'
  | 'key-escape'
  | 'colon'
  | 'value'
  | 'scalar'
  | 'string'
  | 'string-escape'
  | 'nested'
  | 'after-value'
  | 'key-next'
  | 'image'
  | 'image-escape'
  | 'image-unicode'
  | 'done';

/**
 * Reads a JSON object body a chunk at a time and decodes its top-level `image` string (base64,
 * optionally a data: URL) into `sink` as it goes, keeping every other member as JSON text: the
 * body is never held whole, and neither is the image's text. What is kept is parsed by
 * JSON.parse at the end, so those members mean what they would in the whole body (the last of
 * two equal keys wins); an `image` that is not a string is kept as the others are, for the
 * schema to refuse. Malformed JSON and text that is not base64 throw, as the parsers would.
 */
export class JsonImageScanner {
  private state: State = 'before';
  private readonly members: string[] = [];
  private key: number[] = [];
  private keyText = '';
  private value: Buffer[] = [];
  private valueStart = 0;
  /** Nesting and string state inside an object or array value. */
  private depth = 0;
  private inString = false;
  private escaped = false;
  private sawImage = false;
  /** Base64 characters not decoded yet; the data: prefix is read first, up to its comma. */
  private text = '';
  private prefixRead = false;
  private imageChars = 0;
  private padding = 0;
  /** The hex digits of a \u escape in the image's text. */
  private unicode = '';

  constructor(private readonly sink: ImageSink) {}

  /** Whether the body held a top-level string `image` (sent to the sink). */
  get hadImage(): boolean {
    return this.sawImage;
  }

  /** The members read so far, `image` aside, parsed. */
  fieldsSoFar(): Record<string, unknown> {
    return JSON.parse(`{${this.members.join(',')}}`) as Record<string, unknown>;
  }

  push(chunk: Buffer): void {
    this.valueStart = 0;
    for (let i = 0; i < chunk.length; i += 1) {
      const c = chunk[i] as number;
      switch (this.state) {
        case 'before':
          if (WHITESPACE.has(c)) break;
          if (c !== 0x7b)
            throw new VmmError(ErrorCode.InvalidArgument, 'the request body must be a JSON object', {
              field: 'body',
            });
          this.state = 'key-or-end';
          break;
        case 'key-or-end':
        case 'key-next':
          if (WHITESPACE.has(c)) break;
          if (c === 0x22) {
            this.key = [c];
            this.state = 'key';
          } else if (c === 0x7d && this.state === 'key-or-end') this.state = 'done';
          else throw notJson(`unexpected ${JSON.stringify(String.fromCharCode(c))} where a key belongs`);
          break;
        case 'key':
          this.key.push(c);
          if (c === 0x5c) this.state = 'key-escape';
          else if (c === 0x22) {
            this.keyText = Buffer.from(this.key).toString('utf8');
            this.state = 'colon';
          }
          break;
        case 'key-escape':
          this.key.push(c);
          this.state = 'key';
          break;
        case 'colon':
          if (WHITESPACE.has(c)) break;
          if (c !== 0x3a) throw notJson('expected ":" after a key');
          this.state = 'value';
          break;
        case 'value':
          if (WHITESPACE.has(c)) break;
          if (c === 0x22 && this.parsedKey() === 'image') {
            if (this.sawImage) throw notJson('the key "image" appears twice');
            this.sawImage = true;
            this.state = 'image';
            this.sink.start();
            break;
          }
          this.value = [];
          this.valueStart = i;
          if (c === 0x22) this.state = 'string';
          else if (c === 0x7b || c === 0x5b) {
            this.depth = 1;
            this.inString = false;
            this.escaped = false;
            this.state = 'nested';
          } else this.state = 'scalar';
          break;
        case 'scalar':
          if (c === 0x2c || c === 0x7d || WHITESPACE.has(c)) {
            this.keep(chunk, i);
            this.state = 'after-value';
            i -= 1; // the delimiter is read again as what follows the value
          }
          break;
        case 'string':
          if (c === 0x5c) this.state = 'string-escape';
          else if (c === 0x22) {
            this.keep(chunk, i + 1);
            this.state = 'after-value';
          }
          break;
        case 'string-escape':
          this.state = 'string';
          break;
        case 'nested':
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (c === 0x5c) this.escaped = true;
            else if (c === 0x22) this.inString = false;
          } else if (c === 0x22) this.inString = true;
          else if (c === 0x7b || c === 0x5b) this.depth += 1;
          else if (c === 0x7d || c === 0x5d) {
            this.depth -= 1;
            if (this.depth === 0) {
              this.keep(chunk, i + 1);
              this.state = 'after-value';
            }
          }
          break;
        case 'after-value':
          if (WHITESPACE.has(c)) break;
          if (c === 0x2c) this.state = 'key-next';
          else if (c === 0x7d) this.state = 'done';
          else throw notJson('expected "," or "}" after a value');
          break;
        case 'image':
          if (c === 0x22) {
            this.endImage();
            this.state = 'after-value';
          } else if (c === 0x5c) this.state = 'image-escape';
          else this.imageChar(c);
          break;
        case 'image-escape':
          // JSON may escape "/" (some encoders do in base64); a whitespace escape is skipped as
          // whitespace is; any other escaped character cannot be base64.
          this.state = 'image';
          if (c === 0x2f) this.imageChar(c);
          else if (c === 0x75) {
            this.unicode = '';
            this.state = 'image-unicode';
          } else if (c !== 0x6e && c !== 0x72 && c !== 0x74) throw notBase64();
          break;
        case 'image-unicode':
          this.unicode += String.fromCharCode(c);
          if (this.unicode.length === 4) {
            if (!/^[0-9a-fA-F]{4}$/.test(this.unicode)) throw notJson('a \\u escape needs four hex digits');
            const code = Number.parseInt(this.unicode, 16);
            if (code > 0x7f) throw notBase64();
            this.imageChar(code);
            this.state = 'image';
          }
          break;
        case 'done':
          if (!WHITESPACE.has(c)) throw notJson('text after the end of the object');
          break;
      }
    }
    // A value that goes on into the next chunk: keep what this one held of it.
    if (
      this.state === 'scalar' ||
      this.state === 'string' ||
      this.state === 'string-escape' ||
      this.state === 'nested'
    )
      this.value.push(chunk.subarray(this.valueStart));
  }

  /** The body has ended: its members but `image`, parsed. */
  end(): Record<string, unknown> {
    if (this.state === 'scalar') {
      this.state = 'after-value';
      this.members.push(`${this.keyText}:${Buffer.concat(this.value).toString('utf8')}`);
    }
    if (this.state === 'before')
      throw new VmmError(ErrorCode.InvalidArgument, 'the request body must be a JSON object', {
        field: 'body',
      });
    if (this.state !== 'done') throw notJson('the body ends inside the object');
    try {
      return this.fieldsSoFar();
    } catch (error) {
      throw notJson(error instanceof Error ? error.message : String(error));
    }
  }

  private parsedKey(): string {
    try {
      return JSON.parse(this.keyText) as string;
    } catch {
      throw notJson(`the key ${this.keyText.slice(0, 40)} is not a JSON string`);
    }
  }

  /** Keeps the value that ends at `end` of `chunk` as a member's JSON text. */
  private keep(chunk: Buffer, end: number): void {
    this.value.push(chunk.subarray(this.valueStart, end));
    const value = Buffer.concat(this.value).toString('utf8');
    this.value = [];
    // Checked now, so that a bad value is named where it is rather than at the end.
    try {
      JSON.parse(value);
    } catch {
      throw notJson(`the value of ${this.keyText.slice(0, 40)} is not JSON`);
    }
    this.members.push(`${this.keyText}:${value}`);
  }

  private imageChar(c: number): void {
    if (this.prefixRead) {
      if (!WHITESPACE.has(c)) this.base64Char(c);
      return;
    }
    if (WHITESPACE.has(c)) {
      // No data: URL has whitespace in its prefix, and its ":" is not base64.
      if (this.text.startsWith('data:')) throw notBase64();
      this.plainFromHere();
      return;
    }
    // The first characters may be a data: URL's prefix, read up to its comma.
    this.text += String.fromCharCode(c);
    if ('data:'.startsWith(this.text)) return;
    if (this.text.startsWith('data:')) {
      if (c === 0x2c) {
        if (!DATA_URL.test(this.text)) throw notBase64();
        this.text = '';
        this.prefixRead = true;
      } else if (this.text.length > 256) throw notBase64();
      return;
    }
    this.plainFromHere();
  }

  /** What was read as a possible prefix is the image's first characters after all. */
  private plainFromHere(): void {
    const head = this.text;
    this.text = '';
    this.prefixRead = true;
    for (let i = 0; i < head.length; i += 1) this.base64Char(head.charCodeAt(i));
  }

  private base64Char(c: number): void {
    if (c === 0x3d) {
      this.padding += 1;
      if (this.padding > 2 || this.imageChars === 0) throw notBase64();
      this.text += '=';
      return;
    }
    if (this.padding > 0 || !isBase64Char(c)) throw notBase64();
    this.text += String.fromCharCode(c);
    this.imageChars += 1;
    if (this.text.length >= DECODE_CHARS) {
      this.sink.bytes(Buffer.from(this.text, 'base64'));
      this.text = '';
    }
  }

  private endImage(): void {
    if (!this.prefixRead) {
      if (this.text.startsWith('data:')) throw notBase64();
      this.plainFromHere();
    }
    if (this.imageChars === 0) throw notBase64();
    if (this.text.length > 0) this.sink.bytes(Buffer.from(this.text, 'base64'));
    this.text = '';
    this.sink.end();
  }
}
