/** What a piece of generated text releases once stop sequences are accounted for. */
export interface StopResult {
  /** Text that is safe to send: it cannot be part of a stop sequence. */
  text: string;
  /** The stop sequence that completed; generation ends and it is never sent. */
  stop?: string;
}

/**
 * Finds stop sequences in streamed text, even when they span tokens. Text that could still
 * become a stop sequence is held back until it either completes one (and is dropped) or
 * cannot any more (and is released).
 */
export class StopMatcher {
  private pending = '';

  constructor(private readonly stops: readonly string[]) {}

  push(text: string): StopResult {
    const combined = this.pending + text;
    let earliest = -1;
    let found: string | undefined;
    for (const stop of this.stops) {
      const index = combined.indexOf(stop);
      if (index >= 0 && (earliest < 0 || index < earliest)) {
        earliest = index;
        found = stop;
      }
    }
    if (found !== undefined) {
      this.pending = '';
      return { text: combined.slice(0, earliest), stop: found };
    }
    const hold = this.heldBack(combined);
    this.pending = combined.slice(combined.length - hold);
    return { text: combined.slice(0, combined.length - hold) };
  }

  /** Releases what was held back, when generation ends for another reason. */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop sequence. */
  private heldBack(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, text.length); length > longest; length -= 1) {
        if (text.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
