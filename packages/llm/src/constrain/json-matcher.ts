import { ANY, ANY_OBJECT, type ObjectNode, type SchemaNode } from './json-schema.js';

// A byte-level pushdown matcher for JSON valid against a compiled schema. States are
// immutable stacks of frames so that a token-trie walk can branch from one state into many
// without copying; alternatives (anyOf, a type list) are followed side by side as a set of
// stacks, like an NFA.

/** Whitespace between tokens: one space, or a newline and up to 20 spaces or tabs (llama.cpp's rule). */
const WS_DONE = 99;
const MAX_INDENT = 21;
/** Digits a number may have, so that a number always ends. */
const MAX_INT_DIGITS = 16;
const MAX_FRAC_DIGITS = 8;
const MAX_EXP_DIGITS = 2;

type ArrayNode = Extract<SchemaNode, { kind: 'array' }>;
type NumberNode = Extract<SchemaNode, { kind: 'number' }>;

type NumberPhase = 'start' | 'sign' | 'zero' | 'int' | 'dot' | 'frac' | 'exp' | 'expSign' | 'expDigits';

type Frame =
  | { t: 'value'; node: SchemaNode; ws: number }
  | {
      t: 'object';
      node: ObjectNode;
      phase: 'open' | 'afterComma' | 'key' | 'colon' | 'afterValue';
      /** The first declared property still allowed. */
      next: number;
      /** Declared keys still matching while a key is written, and the bytes written of it. */
      cands: readonly number[];
      pos: number;
      /** The property whose value comes next (declared), or -1 (a free key). */
      prop: number;
      ws: number;
    }
  | { t: 'array'; node: ArrayNode; phase: 'open' | 'afterComma' | 'afterValue'; count: number; ws: number }
  | {
      t: 'string';
      min: number;
      max: number;
      /** Characters so far. */
      len: number;
      /** 0: plain; -1: after a backslash; n > 0: hex digits of \u still to come. */
      esc: number;
      /** Continuation bytes of a UTF-8 character still to come. */
      utf8: number;
      /** The range the next continuation byte must fall in (narrower after E0, ED, F0, F4). */
      lo: number;
      hi: number;
    }
  | { t: 'number'; node: NumberNode; phase: NumberPhase; negative: boolean; digits: string; count: number }
  | { t: 'literal'; values: readonly Uint8Array[]; pos: number }
  | { t: 'end' };

export interface Stack {
  readonly f: Frame;
  readonly up: Stack | undefined;
}

export type MatchState = readonly Stack[];

const push = (f: Frame, up: Stack | undefined): Stack => ({ f, up });

const SPACE = 0x20;
const NEWLINE = 0x0a;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);

/** The whitespace state after byte `b`, or -1 if `b` is not whitespace allowed here. */
function wsStep(ws: number, b: number): number {
  if (ws === 0) return b === SPACE ? WS_DONE : b === NEWLINE ? 1 : -1;
  if (ws >= 1 && ws < MAX_INDENT && (b === SPACE || b === TAB)) return ws + 1;
  return -1;
}

const ANY_ARRAY: ArrayNode = {
  kind: 'array',
  prefix: [],
  items: ANY,
  minItems: 0,
  maxItems: Number.MAX_SAFE_INTEGER,
};
const ANY_STRING: SchemaNode = { kind: 'string', minLength: 0, maxLength: Number.MAX_SAFE_INTEGER };
const ANY_NUMBER: NumberNode = { kind: 'number', integer: false, min: undefined, max: undefined };
const encoder = new TextEncoder();
const KEYWORDS: readonly Uint8Array[] = ['true', 'false', 'null'].map((word) => encoder.encode(word));

export function initialState(root: SchemaNode): MatchState {
  return [push({ t: 'value', node: root, ws: 0 }, push({ t: 'end' }, undefined))];
}

/** The states after byte `b`; empty when `b` cannot come next. */
export function advance(state: MatchState, b: number): MatchState {
  if (state.length === 1) return step(state[0] as Stack, b);
  const out: Stack[] = [];
  for (const stack of state) for (const next of step(stack, b)) out.push(next);
  return out;
}

export function advanceBytes(state: MatchState, bytes: Uint8Array): MatchState {
  let current = state;
  for (let i = 0; i < bytes.length && current.length > 0; i += 1)
    current = advance(current, bytes[i] as number);
  return current;
}

const NONE: MatchState = [];
const one = (stack: Stack): MatchState => [stack];

function step(stack: Stack, b: number): MatchState {
  const f = stack.f;
  const up = stack.up;
  switch (f.t) {
    case 'value': {
      const ws = wsStep(f.ws, b);
      if (ws >= 0) return one(push({ ...f, ws }, up));
      return startValue(f.node, b, up);
    }
    case 'string':
      return stringStep(f, b, up);
    case 'number':
      return numberStep(f, b, up);
    case 'literal': {
      const pos = f.pos;
      let matched: Uint8Array[] | undefined;
      let complete = false;
      for (const value of f.values) {
        if (value.length === pos) complete = true;
        else if (value[pos] === b) (matched ??= []).push(value);
      }
      if (matched) {
        if (matched.every((value) => value.length === pos + 1)) return up ? one(up) : NONE;
        return one(push({ t: 'literal', values: matched, pos: pos + 1 }, up));
      }
      // A literal that may end here (a number of an enum) hands the byte to its parent.
      return complete && up ? step(up, b) : NONE;
    }
    case 'object':
      return objectStep(f, b, up);
    case 'array':
      return arrayStep(f, b, up);
    case 'end':
      return NONE;
  }
}

/** The first byte of a value of `node`, whitespace already skipped. */
function startValue(node: SchemaNode, b: number, up: Stack | undefined): MatchState {
  switch (node.kind) {
    case 'any': {
      if (b === 0x7b) return startValue(ANY_OBJECT, b, up);
      if (b === 0x5b) return startValue(ANY_ARRAY, b, up);
      if (b === QUOTE) return startValue(ANY_STRING, b, up);
      if (b === 0x2d || isDigit(b)) return startValue(ANY_NUMBER, b, up);
      return step(push({ t: 'literal', values: KEYWORDS, pos: 0 }, up), b);
    }
    case 'object':
      return b === 0x7b
        ? one(push({ t: 'object', node, phase: 'open', next: 0, cands: [], pos: 0, prop: -1, ws: 0 }, up))
        : NONE;
    case 'array':
      return b === 0x5b ? one(push({ t: 'array', node, phase: 'open', count: 0, ws: 0 }, up)) : NONE;
    case 'string':
      return b === QUOTE
        ? one(
            push(
              {
                t: 'string',
                min: node.minLength,
                max: node.maxLength,
                len: 0,
                esc: 0,
                utf8: 0,
                lo: 0x80,
                hi: 0xbf,
              },
              up,
            ),
          )
        : NONE;
    case 'number':
      return numberStep({ t: 'number', node, phase: 'start', negative: false, digits: '', count: 0 }, b, up);
    case 'literal':
      return step(push({ t: 'literal', values: node.values, pos: 0 }, up), b);
    case 'union': {
      const out: Stack[] = [];
      for (const option of node.options) for (const next of startValue(option, b, up)) out.push(next);
      return out;
    }
  }
}

function stringStep(f: Extract<Frame, { t: 'string' }>, b: number, up: Stack | undefined): MatchState {
  if (f.utf8 > 0) {
    return b >= f.lo && b <= f.hi ? one(push({ ...f, utf8: f.utf8 - 1, lo: 0x80, hi: 0xbf }, up)) : NONE;
  }
  if (f.esc === -1) {
    if (b === 0x75) return one(push({ ...f, esc: 4 }, up));
    // " \ / b f n r t
    if (
      b === QUOTE ||
      b === BACKSLASH ||
      b === 0x2f ||
      b === 0x62 ||
      b === 0x66 ||
      b === 0x6e ||
      b === 0x72 ||
      b === 0x74
    )
      return one(push({ ...f, esc: 0, len: f.len + 1 }, up));
    return NONE;
  }
  if (f.esc > 0) {
    if (!isHex(b)) return NONE;
    return one(push(f.esc === 1 ? { ...f, esc: 0, len: f.len + 1 } : { ...f, esc: f.esc - 1 }, up));
  }
  if (b === QUOTE) return f.len >= f.min && up ? one(up) : NONE;
  if (f.len >= f.max || b < 0x20) return NONE;
  if (b === BACKSLASH) return one(push({ ...f, esc: -1 }, up));
  if (b < 0x80) return one(push({ ...f, len: f.len + 1 }, up));
  // Well-formed UTF-8 only (no overlongs, surrogates or code points past U+10FFFF): a decoder
  // would turn anything else into several U+FFFD and break length limits.
  const utf8 = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
  if (utf8 === 0) return NONE;
  const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
  const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
  return one(push({ ...f, len: f.len + 1, utf8, lo, hi }, up));
}

type NumberFrame = Extract<Frame, { t: 'number' }>;

/** Whether some integer in the node's range starts with these digits (sign included). */
function integerPrefixFits(node: NumberNode, negative: boolean, digits: string): boolean {
  if (node.min === undefined && node.max === undefined) return true;
  const min = node.min === undefined ? undefined : BigInt(node.min);
  const max = node.max === undefined ? undefined : BigInt(node.max);
  if (digits === '') return negative ? min === undefined || min < 0n : max === undefined || max >= 0n;
  const prefix = BigInt(digits);
  const longest = digits === '0' ? 1 : MAX_INT_DIGITS;
  for (let length = digits.length; length <= longest; length += 1) {
    const scale = 10n ** BigInt(length - digits.length);
    let lo = prefix * scale;
    let hi = (prefix + 1n) * scale - 1n;
    if (digits === '0') hi = 0n;
    if (negative) [lo, hi] = [-hi, -lo];
    if ((min === undefined || hi >= min) && (max === undefined || lo <= max)) return true;
  }
  return false;
}

function integerInRange(node: NumberNode, negative: boolean, digits: string): boolean {
  if (node.min === undefined && node.max === undefined) return true;
  const value = negative ? -BigInt(digits) : BigInt(digits);
  return (
    (node.min === undefined || value >= BigInt(node.min)) &&
    (node.max === undefined || value <= BigInt(node.max))
  );
}

function numberComplete(f: NumberFrame): boolean {
  if (f.phase === 'zero' || f.phase === 'int')
    return !f.node.integer || integerInRange(f.node, f.negative, f.digits);
  return f.phase === 'frac' || f.phase === 'expDigits';
}

function numberStep(f: NumberFrame, b: number, up: Stack | undefined): MatchState {
  const to = (phase: NumberPhase, extra: Partial<NumberFrame> = {}): MatchState =>
    one(push({ ...f, phase, ...extra }, up));
  const integer = f.node.integer;
  const isExp = b === 0x65 || b === 0x45;
  const phase = f.phase;
  if (phase === 'start' && b === 0x2d) {
    return integerPrefixFits(f.node, true, '') ? to('sign', { negative: true }) : NONE;
  }
  if (phase === 'start' || phase === 'sign') {
    if (!isDigit(b)) return NONE;
    const digits = String.fromCharCode(b);
    if (!integerPrefixFits(f.node, f.negative, digits)) return NONE;
    return to(b === 0x30 ? 'zero' : 'int', { digits, count: 1 });
  }
  if (phase === 'int' && isDigit(b) && f.count < MAX_INT_DIGITS) {
    const digits = f.digits + String.fromCharCode(b);
    if (integerPrefixFits(f.node, f.negative, digits)) return to('int', { digits, count: f.count + 1 });
  }
  if ((phase === 'int' || phase === 'zero') && !integer) {
    if (b === 0x2e) return to('dot', { count: 0 });
    if (isExp) return to('exp', { count: 0 });
  }
  if (phase === 'dot') return isDigit(b) ? to('frac', { count: 1 }) : NONE;
  if (phase === 'frac') {
    if (isDigit(b) && f.count < MAX_FRAC_DIGITS) return to('frac', { count: f.count + 1 });
    if (isExp) return to('exp', { count: 0 });
  }
  if (phase === 'exp' && (b === 0x2b || b === 0x2d)) return to('expSign');
  if (phase === 'exp' || phase === 'expSign') return isDigit(b) ? to('expDigits', { count: 1 }) : NONE;
  if (phase === 'expDigits' && isDigit(b) && f.count < MAX_EXP_DIGITS)
    return to('expDigits', { count: f.count + 1 });
  // The number ends before `b`, which belongs to what follows it.
  return numberComplete(f) && up ? step(up, b) : NONE;
}

type ObjectFrame = Extract<Frame, { t: 'object' }>;

/** Declared properties a key may name now: from `next` up to and including the first required one. */
function keyChoices(f: ObjectFrame): number[] {
  const out: number[] = [];
  const props = f.node.properties;
  for (let i = f.next; i < props.length; i += 1) {
    out.push(i);
    if ((props[i] as { required: boolean }).required) break;
  }
  return out;
}

function canClose(f: ObjectFrame): boolean {
  const props = f.node.properties;
  for (let i = f.next; i < props.length; i += 1)
    if ((props[i] as { required: boolean }).required) return false;
  return true;
}

const hasMoreKeys = (f: ObjectFrame) => f.node.properties.length === 0 || f.next < f.node.properties.length;

function objectStep(f: ObjectFrame, b: number, up: Stack | undefined): MatchState {
  const wsNext = f.phase === 'key' ? -1 : wsStep(f.ws, b);
  if (wsNext >= 0) return one(push({ ...f, ws: wsNext }, up));
  const props = f.node.properties;
  switch (f.phase) {
    case 'open':
    case 'afterComma':
      if (b === QUOTE && (f.phase === 'open' || hasMoreKeys(f))) {
        if (props.length === 0) {
          if (!f.node.additional) return NONE;
          // A free key: a string, then the colon.
          const parent = push({ ...f, phase: 'colon', prop: -1, ws: 0 }, up);
          return one(
            push(
              {
                t: 'string',
                min: 0,
                max: Number.MAX_SAFE_INTEGER,
                len: 0,
                esc: 0,
                utf8: 0,
                lo: 0x80,
                hi: 0xbf,
              },
              parent,
            ),
          );
        }
        const cands = keyChoices(f);
        return cands.length > 0 ? one(push({ ...f, phase: 'key', cands, pos: 1, ws: 0 }, up)) : NONE;
      }
      if (b === 0x7d && f.phase === 'open' && canClose(f)) return up ? one(up) : NONE;
      return NONE;
    case 'key': {
      const cands = f.cands.filter((i) => (props[i] as { key: Uint8Array }).key[f.pos] === b);
      if (cands.length === 0) return NONE;
      const pos = f.pos + 1;
      // Keys are quoted, so none is a prefix of another: a finished key is the only candidate.
      const done = cands.find((i) => (props[i] as { key: Uint8Array }).key.length === pos);
      if (done !== undefined)
        return one(push({ ...f, phase: 'colon', prop: done, next: done + 1, cands: [], pos: 0, ws: 0 }, up));
      return one(push({ ...f, cands, pos }, up));
    }
    case 'colon': {
      if (b !== 0x3a) return NONE;
      const node = f.prop >= 0 ? (props[f.prop] as { node: SchemaNode }).node : (f.node.additional ?? ANY);
      const parent = push({ ...f, phase: 'afterValue', ws: 0 }, up);
      return one(push({ t: 'value', node, ws: 0 }, parent));
    }
    case 'afterValue':
      if (b === 0x2c && hasMoreKeys(f)) return one(push({ ...f, phase: 'afterComma', ws: 0 }, up));
      if (b === 0x7d && canClose(f)) return up ? one(up) : NONE;
      return NONE;
  }
}

type ArrayFrame = Extract<Frame, { t: 'array' }>;

const itemNode = (node: ArrayNode, index: number): SchemaNode | undefined =>
  index >= node.maxItems ? undefined : (node.prefix[index] ?? node.items);

function arrayStep(f: ArrayFrame, b: number, up: Stack | undefined): MatchState {
  const ws = wsStep(f.ws, b);
  if (ws >= 0) return one(push({ ...f, ws }, up));
  if (f.phase === 'afterValue') {
    if (b === 0x2c && itemNode(f.node, f.count)) return one(push({ ...f, phase: 'afterComma', ws: 0 }, up));
    if (b === 0x5d && f.count >= f.node.minItems) return up ? one(up) : NONE;
    return NONE;
  }
  if (b === 0x5d && f.phase === 'open' && f.node.minItems === 0) return up ? one(up) : NONE;
  const node = itemNode(f.node, f.count);
  if (!node) return NONE;
  const parent = push({ ...f, phase: 'afterValue', count: f.count + 1, ws: 0 }, up);
  return startValue(node, b, parent);
}

/** Whether the output may end here: every open frame is complete without another byte. */
export function acceptsEnd(state: MatchState): boolean {
  return state.some((stack) => {
    let current: Stack | undefined = stack;
    while (current) {
      const f = current.f;
      if (f.t === 'end') return true;
      if (f.t === 'number' && numberComplete(f)) current = current.up;
      else if (f.t === 'literal' && f.values.some((value) => value.length === f.pos)) current = current.up;
      else return false;
    }
    return false;
  });
}

/** Characters a plain string (not mid-escape, not mid-character) may still take; 0 elsewhere. */
export function stringRoom(state: MatchState): number {
  if (state.length !== 1) return 0;
  const f = (state[0] as Stack).f;
  return f.t === 'string' && f.esc === 0 && f.utf8 === 0 ? f.max - f.len : 0;
}

/**
 * Whether the matcher sits in a plain string with room for at least `room` more characters:
 * any clean text of that length may follow.
 */
export function inFreeString(state: MatchState, room: number): boolean {
  if (state.length !== 1) return false;
  const f = (state[0] as Stack).f;
  return f.t === 'string' && f.esc === 0 && f.utf8 === 0 && f.max - f.len >= room;
}

// --- The shortest way to finish: used to close the JSON before the token budget runs out. ---

const minimalCache = new WeakMap<SchemaNode, string>();

/** The shortest JSON text valid for `node`, one latin1 char per byte. */
export function minimalValue(node: SchemaNode, visiting: Set<SchemaNode> = new Set()): string | undefined {
  const cached = minimalCache.get(node);
  if (cached !== undefined) return cached;
  if (visiting.has(node)) return undefined;
  visiting.add(node);
  let out: string | undefined;
  switch (node.kind) {
    case 'any':
      out = '0';
      break;
    case 'object': {
      const parts: string[] = [];
      let satisfiable = true;
      for (const prop of node.properties) {
        if (!prop.required) continue;
        const value = minimalValue(prop.node, visiting);
        if (value === undefined) {
          satisfiable = false;
          break;
        }
        parts.push(`${keyText(prop.name)}:${value}`);
      }
      out = satisfiable ? `{${parts.join(',')}}` : undefined;
      break;
    }
    case 'array': {
      const items: string[] = [];
      for (let i = 0; i < node.minItems; i += 1) {
        const item = itemNode(node, i);
        const value = item && minimalValue(item, visiting);
        if (value === undefined) break;
        items.push(value);
      }
      out = items.length === node.minItems ? `[${items.join(',')}]` : undefined;
      break;
    }
    case 'string':
      out = `"${'a'.repeat(node.minLength)}"`;
      break;
    case 'number':
      out = closestToZero(node, false, '') ?? undefined;
      break;
    case 'literal':
      out = shortestAscii(node.values, 0);
      break;
    case 'union':
      for (const option of node.options) {
        const value = minimalValue(option, visiting);
        if (value !== undefined && (out === undefined || value.length < out.length)) out = value;
      }
      break;
  }
  visiting.delete(node);
  if (out !== undefined) minimalCache.set(node, out);
  return out;
}

// Completions are byte strings held in JS strings, one char per byte (latin1), so that a
// pending UTF-8 continuation byte or a non-ASCII key stays one char per byte.
const bytesText = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const keyText = (name: string): string => Buffer.from(JSON.stringify(name), 'utf8').toString('latin1');

function shortestAscii(values: readonly Uint8Array[], from: number): string | undefined {
  let best: Uint8Array | undefined;
  for (const value of values) if (!best || value.length < best.length) best = value;
  return best ? bytesText(best.subarray(from)) : undefined;
}

/** The digits (and sign) to append to an integer prefix to reach the value in range closest to zero. */
function closestToZero(node: NumberNode, negative: boolean, digits: string): string | undefined {
  const min = node.min === undefined ? undefined : BigInt(node.min);
  const max = node.max === undefined ? undefined : BigInt(node.max);
  if (digits === '') {
    if ((min === undefined || min <= 0n) && (max === undefined || max >= 0n) && !negative) return '0';
    if (negative || (max !== undefined && max < 0n)) {
      const target = max === undefined || max > 0n ? 0n : max;
      return negative ? String(-target) : String(target);
    }
    return min === undefined ? '0' : String(min);
  }
  const prefix = BigInt(digits);
  for (let length = digits.length; length <= MAX_INT_DIGITS; length += 1) {
    const scale = 10n ** BigInt(length - digits.length);
    let lo = prefix * scale;
    let hi = digits === '0' ? 0n : (prefix + 1n) * scale - 1n;
    if (negative) [lo, hi] = [-hi, -lo];
    const from = min === undefined || lo > min ? lo : min;
    const to = max === undefined || hi < max ? hi : max;
    if (from > to) continue;
    const value = negative ? to : from;
    const text = (negative ? -value : value).toString();
    return text.slice(digits.length);
  }
  return undefined;
}

function objectRest(f: ObjectFrame, after: number): string | undefined {
  // After property `after - 1`: the required ones still to come, then the brace.
  let out = '';
  const props = f.node.properties;
  for (let i = after; i < props.length; i += 1) {
    const prop = props[i] as (typeof props)[number];
    if (!prop.required) continue;
    const value = minimalValue(prop.node);
    if (value === undefined) return undefined;
    out += `,${keyText(prop.name)}:${value}`;
  }
  return `${out}}`;
}

function frameRest(f: Frame): string | undefined {
  switch (f.t) {
    case 'end':
      return '';
    case 'value':
      return minimalValue(f.node);
    case 'string': {
      let out = '';
      let len = f.len;
      if (f.utf8 > 0) out += String.fromCharCode(f.lo) + '\u0080'.repeat(f.utf8 - 1);
      if (f.esc === -1) {
        out += 'n';
        len += 1;
      } else if (f.esc > 0) {
        out += '0'.repeat(f.esc);
        len += 1;
      }
      return `${out}${'a'.repeat(Math.max(0, f.min - len))}"`;
    }
    case 'number':
      switch (f.phase) {
        case 'start':
        case 'sign':
          return closestToZero(f.node, f.negative, '');
        case 'zero':
        case 'int':
          return closestToZero(f.node, f.negative, f.digits);
        case 'dot':
        case 'exp':
        case 'expSign':
          return '0';
        default:
          return '';
      }
    case 'literal': {
      const prefixOk = f.values.filter((value) => value.length >= f.pos);
      return shortestAscii(prefixOk, f.pos);
    }
    case 'array': {
      const node = f.node;
      let out = '';
      let count = f.count;
      if (f.phase === 'afterComma') {
        const item = itemNode(node, count);
        const value = item && minimalValue(item);
        if (value === undefined) return undefined;
        out += value;
        count += 1;
      }
      for (; count < node.minItems; count += 1) {
        const item = itemNode(node, count);
        const value = item && minimalValue(item);
        if (value === undefined) return undefined;
        out += `${count === 0 && f.phase === 'open' ? '' : ','}${value}`;
      }
      return `${out}]`;
    }
    case 'object': {
      const props = f.node.properties;
      const free = props.length === 0;
      const freeValue = () => minimalValue(f.node.additional ?? ANY);
      switch (f.phase) {
        case 'open':
        case 'afterComma': {
          if (free) {
            if (f.phase === 'open') return '}';
            const value = freeValue();
            return value === undefined ? undefined : `"":${value}}`;
          }
          if (f.phase === 'open' && canClose(f)) return '}';
          // Write the cheapest allowed key next, then what it leaves required.
          let best: string | undefined;
          for (const i of keyChoices(f)) {
            const prop = props[i] as (typeof props)[number];
            const value = minimalValue(prop.node);
            const rest = objectRest(f, i + 1);
            if (value === undefined || rest === undefined) continue;
            const text = `${keyText(prop.name)}:${value}${rest}`;
            if (best === undefined || text.length < best.length) best = text;
          }
          return best;
        }
        case 'key': {
          let best: string | undefined;
          for (const i of f.cands) {
            const prop = props[i] as (typeof props)[number];
            const value = minimalValue(prop.node);
            const rest = objectRest(f, i + 1);
            if (value === undefined || rest === undefined) continue;
            const text = `${bytesText(prop.key.subarray(f.pos))}:${value}${rest}`;
            if (best === undefined || text.length < best.length) best = text;
          }
          return best;
        }
        case 'colon': {
          const value =
            f.prop >= 0 ? minimalValue((props[f.prop] as (typeof props)[number]).node) : freeValue();
          const rest = free ? '}' : objectRest(f, f.next);
          return value === undefined || rest === undefined ? undefined : `:${value}${rest}`;
        }
        case 'afterValue':
          return free ? '}' : objectRest(f, f.next);
      }
    }
  }
}

/**
 * The shortest bytes (one latin1 char each) that complete the JSON from this state, or
 * undefined if none is known (a schema that only recursion could satisfy).
 */
export function shortestCompletion(state: MatchState): string | undefined {
  let best: string | undefined;
  for (const stack of state) {
    let out = '';
    let current: Stack | undefined = stack;
    let ok = true;
    while (current) {
      const rest = frameRest(current.f);
      if (rest === undefined) {
        ok = false;
        break;
      }
      out += rest;
      current = current.up;
    }
    if (ok && (best === undefined || out.length < best.length)) best = out;
  }
  return best;
}
