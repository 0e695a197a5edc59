import {
  acceptsEnd,
  advanceBytes,
  initialState,
  type MatchState,
  shortestCompletion,
  stringRoom,
} from './json-matcher.js';
import type { SchemaNode } from './json-schema.js';
import type { TokenTrie } from './token-trie.js';

/**
 * Within this many tokens of the budget's end, each allowed token is also checked to leave a
 * completion that still fits: a token such as `{"` can lengthen the shortest completion.
 */
const NEAR_BUDGET = 48;

/**
 * One sequence's constraint: before each step, masks the logits of tokens that would break
 * the JSON (or the schema); after it, follows the sampled token. Near the end of the token
 * budget it closes the output along the shortest valid completion, so that a length-limited
 * answer still parses.
 */
export class JsonConstraint {
  private state: MatchState;
  private readonly allowed: Uint8Array;
  /** The completion being written once the budget forced it, and how far. */
  private plan: Uint8Array | undefined;
  private planAt = 0;

  constructor(
    private readonly trie: TokenTrie,
    root: SchemaNode,
    private readonly eos: readonly number[],
  ) {
    this.state = initialState(root);
    this.allowed = new Uint8Array(trie.bytes.length);
  }

  /** Tokens the shortest valid output takes from here, greedily tokenized; undefined if unknown. */
  tokensToFinish(state: MatchState = this.state): number | undefined {
    const rest = shortestCompletion(state);
    return rest === undefined ? undefined : this.trie.greedyCount(Buffer.from(rest, 'latin1'));
  }

  /** Whether the JSON is complete and nothing may follow it: the output has ended. */
  get finished(): boolean {
    return this.state.length > 0 && this.state.every((stack) => stack.f.t === 'end');
  }

  /** Sets to -Infinity the logits of tokens that cannot come next; `remaining` counts this step. */
  mask(logits: Float32Array, remaining: number): void {
    const allowed = this.allowed;
    allowed.fill(0);
    if (!this.plan) {
      const needed = this.tokensToFinish();
      if (needed !== undefined && needed > 0 && remaining <= needed) this.startPlan();
      else {
        this.trie.allow(this.state, allowed);
        if (needed !== undefined && remaining <= needed + NEAR_BUDGET && !this.dropTooLong(remaining - 1)) {
          this.startPlan();
        }
      }
    }
    if (this.plan) {
      const next = this.trie.longestPrefix(this.plan, this.planAt);
      if (next) {
        allowed.fill(0);
        allowed[next.id] = 1;
      } else this.plan = undefined;
    }
    const eos = this.eos.filter((id) => id < logits.length).map((id) => [id, logits[id] as number] as const);
    let any = false;
    for (let id = 0; id < logits.length; id += 1) {
      if (id < allowed.length && allowed[id] === 1) any = true;
      else logits[id] = -Infinity;
    }
    if (acceptsEnd(this.state)) for (const [id, value] of eos) logits[id] = value;
    // A dead end the matcher did not foresee: ending beats writing what breaks the format.
    else if (!any) for (const [id] of eos) logits[id] = 0;
  }

  private startPlan(): void {
    const rest = shortestCompletion(this.state);
    if (rest === undefined || rest.length === 0) return;
    this.plan = Buffer.from(rest, 'latin1');
    this.planAt = 0;
  }

  /**
   * Drops allowed tokens after which the shortest completion would not fit `left` tokens;
   * returns whether any token is left.
   */
  private dropTooLong(left: number): boolean {
    const allowed = this.allowed;
    // Inside a string, plain text never lengthens the completion (it can only meet minLength).
    const free = stringRoom(this.state) > 0;
    let kept = false;
    for (let id = 0; id < allowed.length; id += 1) {
      if (allowed[id] !== 1) continue;
      const token = this.trie.bytes[id] as Uint8Array;
      // Plain text inside an open string leaves the completion as it is: the check above holds.
      if (free && this.trie.isClean(id)) {
        kept = true;
        continue;
      }
      const needed = this.tokensToFinish(advanceBytes(this.state, token));
      if (needed === undefined || needed > left) allowed[id] = 0;
      else kept = true;
    }
    return kept;
  }

  /** Follows the sampled token; EOS and tokens without bytes leave the state as it is. */
  accept(token: number): void {
    const bytes = this.trie.bytes[token];
    if (!bytes) return;
    this.state = advanceBytes(this.state, bytes);
    if (this.plan) {
      this.planAt += bytes.length;
      if (this.planAt >= this.plan.length) this.plan = undefined;
    }
  }
}
