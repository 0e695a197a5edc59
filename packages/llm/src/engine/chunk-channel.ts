/**
 * Hands one sequence's chunks from the scheduler, which never waits on a consumer, to the
 * stream of its request. Holds at most a sequence's worth of chunks (one per token of its
 * reservation); the thread protocol's window then applies backpressure on the way out.
 */
export class ChunkChannel<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    this.failure = error ?? new Error('failed');
    this.ended = true;
    this.notify();
  }

  async *drain(): AsyncGenerator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
