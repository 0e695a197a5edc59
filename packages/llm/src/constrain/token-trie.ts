import { advance, inFreeString, type MatchState, stringRoom } from './json-matcher.js';

interface BuildNode {
  children: Map<number, BuildNode>;
  tokens: number[];
  /** Some token below has bytes that could leave a plain string (a quote, a backslash, a partial character). */
  dirty: boolean;
}

/**
 * Whether `bytes` from `from` on are plain string content: printable ASCII other than `"` and
 * `\`, or complete UTF-8 characters. Such a tail leaves a JSON string open and unescaped.
 */
function cleanTail(bytes: Uint8Array, from: number): boolean {
  let i = from;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      if (b < 0x20 || b === 0x22 || b === 0x5c) return false;
      i += 1;
      continue;
    }
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0 || i + need >= bytes.length) return false;
    for (let k = 1; k <= need; k += 1) {
      const c = bytes[i + k] as number;
      const lo = k === 1 ? (b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80) : 0x80;
      const hi = k === 1 ? (b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf) : 0xbf;
      if (c < lo || c > hi) return false;
    }
    i += need + 1;
  }
  return true;
}

/**
 * The vocabulary as a byte trie, laid out in depth-first order so that the tokens under any
 * node are one contiguous run of `order`: a whole subtree is allowed in one loop. Built once
 * per model; masks are computed by walking it from a matcher state, pruning at the first
 * byte the state refuses.
 */
export class TokenTrie {
  private readonly childStart: Int32Array;
  private readonly childCount: Int32Array;
  private readonly childByte: Uint8Array;
  private readonly childNode: Int32Array;
  private readonly tokStart: Int32Array;
  private readonly tokEnd: Int32Array;
  private readonly subEnd: Int32Array;
  private readonly clean: Uint8Array;
  /** The most bytes any token below a node has past the node. */
  private readonly below: Int32Array;
  private readonly order: Int32Array;
  readonly nodes: number;
  /** The longest token, in bytes: the most characters one token can add to a string. */
  readonly longest: number;
  /**
   * Tokens that are plain string content whole, shortest (in characters) first, and where
   * each length ends: inside an open string with room for n more characters, the first
   * `cleanEnds[n]` of them are allowed at once.
   */
  private readonly cleanByLength: Int32Array | undefined;
  private readonly cleanEnds: Int32Array | undefined;
  private readonly cleanFlags: Uint8Array | undefined;
  /** The other tokens, walked from the state when inside an open string. */
  private readonly dirty: TokenTrie | undefined;

  constructor(
    readonly bytes: readonly (Uint8Array | undefined)[],
    only?: (id: number) => boolean,
  ) {
    if (!only) {
      const clean: { id: number; chars: number }[] = [];
      const isClean = new Uint8Array(bytes.length);
      bytes.forEach((token, id) => {
        if (!token || token.length === 0 || !cleanTail(token, 0)) return;
        isClean[id] = 1;
        // Characters, not bytes: continuation bytes do not start one.
        clean.push({ id, chars: token.reduce((n, b) => n + ((b & 0xc0) === 0x80 ? 0 : 1), 0) });
      });
      clean.sort((a, b) => a.chars - b.chars);
      const longestChars = clean.at(-1)?.chars ?? 0;
      this.cleanByLength = Int32Array.from(clean, (token) => token.id);
      this.cleanEnds = new Int32Array(longestChars + 1);
      let at = 0;
      for (let n = 0; n <= longestChars; n += 1) {
        while (at < clean.length && (clean[at] as { chars: number }).chars <= n) at += 1;
        this.cleanEnds[n] = at;
      }
      this.dirty = new TokenTrie(bytes, (id) => isClean[id] === 0);
      this.cleanFlags = isClean;
    }
    this.longest = bytes.reduce((most, token) => Math.max(most, token?.length ?? 0), 0);
    const root: BuildNode = { children: new Map(), tokens: [], dirty: false };
    let count = 1;
    bytes.forEach((token, id) => {
      if (!token || token.length === 0 || (only && !only(id))) return;
      let node = root;
      for (let d = 0; d < token.length; d += 1) {
        const b = token[d] as number;
        let child = node.children.get(b);
        if (!child) {
          child = { children: new Map(), tokens: [], dirty: false };
          node.children.set(b, child);
          count += 1;
        }
        node = child;
        // The node at depth d + 1 is clean for this token if what follows it is plain text.
        if (!cleanTail(token, d + 1)) node.dirty = true;
      }
      node.tokens.push(id);
    });
    this.nodes = count;
    this.childStart = new Int32Array(count);
    this.childCount = new Int32Array(count);
    this.childByte = new Uint8Array(count);
    this.childNode = new Int32Array(count);
    this.tokStart = new Int32Array(count);
    this.tokEnd = new Int32Array(count);
    this.subEnd = new Int32Array(count);
    this.clean = new Uint8Array(count);
    this.below = new Int32Array(count);
    const order: number[] = [];
    let nextIndex = 1;
    let nextEdge = 0;
    // Depth-first layout: a node's own tokens, then each child's subtree, by byte. A node is
    // clean when every token through it has a clean tail from its depth on; a mid-character
    // node below does not taint it, its tails already cover that character whole.
    const layout = (node: BuildNode, index: number): number => {
      let below = 0;
      this.tokStart[index] = order.length;
      for (const id of node.tokens) order.push(id);
      this.tokEnd[index] = order.length;
      const children = [...node.children.entries()].sort((a, b) => a[0] - b[0]);
      const first = nextEdge;
      nextEdge += children.length;
      this.childStart[index] = first;
      this.childCount[index] = children.length;
      children.forEach(([b, child], k) => {
        const childIndex = nextIndex;
        nextIndex += 1;
        this.childByte[first + k] = b;
        this.childNode[first + k] = childIndex;
        below = Math.max(below, layout(child, childIndex) + 1);
      });
      this.subEnd[index] = order.length;
      this.clean[index] = node.dirty ? 0 : 1;
      this.below[index] = below;
      return below;
    };
    layout(root, 0);
    this.order = Int32Array.from(order);
  }

  /** Whether the token is plain string content whole (no quote, backslash or broken character). */
  isClean(id: number): boolean {
    return this.cleanFlags?.[id] === 1;
  }

  /** Sets `allowed[id]` for every token the matcher can take whole from `state`. */
  allow(state: MatchState, allowed: Uint8Array): void {
    const room = stringRoom(state);
    if (this.cleanByLength && this.cleanEnds && this.dirty && room > 0) {
      // Most of a vocabulary is plain text: inside an open string, the plain tokens that fit
      // are allowed by length, and only the rest is walked.
      const end = this.cleanEnds[Math.min(room, this.cleanEnds.length - 1)] as number;
      for (let i = 0; i < end; i += 1) allowed[this.cleanByLength[i] as number] = 1;
      this.dirty.visit(0, state, allowed);
      return;
    }
    this.visit(0, state, allowed);
  }

  private visit(node: number, state: MatchState, allowed: Uint8Array): void {
    const end = (this.childStart[node] as number) + (this.childCount[node] as number);
    // Inside an open, unbounded string a plain byte changes nothing but the length: clean
    // subtrees behind one are allowed whole, without stepping the matcher byte by byte.
    // The room a plain string has left, in characters (0: not in a plain string).
    const room = stringRoom(state);
    const free = room > 0;
    for (let k = this.childStart[node] as number; k < end; k += 1) {
      const b = this.childByte[k] as number;
      const child = this.childNode[k] as number;
      if (
        free &&
        this.clean[child] === 1 &&
        b >= 0x20 &&
        b < 0x80 &&
        b !== 0x22 &&
        b !== 0x5c &&
        (this.below[child] as number) < room
      ) {
        for (let i = this.tokStart[child] as number; i < (this.subEnd[child] as number); i += 1)
          allowed[this.order[i] as number] = 1;
        continue;
      }
      const next = advance(state, b);
      if (next.length === 0) continue;
      if (this.clean[child] === 1 && inFreeString(next, this.below[child] as number)) {
        // Plain text under an open, unbounded string: every token below fits.
        for (let i = this.tokStart[child] as number; i < (this.subEnd[child] as number); i += 1)
          allowed[this.order[i] as number] = 1;
        continue;
      }
      for (let i = this.tokStart[child] as number; i < (this.tokEnd[child] as number); i += 1)
        allowed[this.order[i] as number] = 1;
      if ((this.subEnd[child] as number) > (this.tokEnd[child] as number)) this.visit(child, next, allowed);
    }
  }

  /** The child of `node` along byte `b`, or -1. */
  private child(node: number, b: number): number {
    const start = this.childStart[node] as number;
    const end = start + (this.childCount[node] as number);
    for (let k = start; k < end; k += 1) if (this.childByte[k] === b) return this.childNode[k] as number;
    return -1;
  }

  /**
   * The longest token that `text` starts with, and its length in bytes; undefined when no token
   * starts it. Repeated, it tokenizes a completion greedily.
   */
  longestPrefix(text: Uint8Array, from = 0): { id: number; length: number } | undefined {
    let node = 0;
    let best: { id: number; length: number } | undefined;
    for (let i = from; i < text.length; i += 1) {
      const next = this.child(node, text[i] as number);
      if (next < 0) break;
      node = next;
      if ((this.tokEnd[node] as number) > (this.tokStart[node] as number))
        best = { id: this.order[this.tokStart[node] as number] as number, length: i + 1 - from };
    }
    return best;
  }

  /** Tokens a greedy longest-match tokenization of `text` takes; undefined if it cannot. */
  greedyCount(text: Uint8Array): number | undefined {
    let count = 0;
    for (let at = 0; at < text.length; count += 1) {
      const token = this.longestPrefix(text, at);
      if (!token) return undefined;
      at += token.length;
    }
    return count;
  }
}
