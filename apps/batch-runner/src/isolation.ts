/**
 * Shared or alone: items run side by side (`shared`), but an item suspected of taking a worker
 * down runs `alone`, with no other item in flight on this runner, so that a second crash in its
 * time is its own and no innocent item is in flight to be blamed with it. Waiting `alone` callers
 * go first (no new `shared` one starts meanwhile), so a suspect is never starved.
 */
export class Isolation {
  private running = 0;
  private isolated = false;
  private waitingAlone = 0;
  private wakers: (() => void)[] = [];

  async shared<T>(work: () => Promise<T>): Promise<T> {
    while (this.isolated || this.waitingAlone > 0) await this.turn();
    this.running += 1;
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.wake();
    }
  }

  async alone<T>(work: () => Promise<T>): Promise<T> {
    this.waitingAlone += 1;
    try {
      while (this.isolated || this.running > 0) await this.turn();
    } finally {
      this.waitingAlone -= 1;
    }
    this.isolated = true;
    try {
      return await work();
    } finally {
      this.isolated = false;
      this.wake();
    }
  }

  private turn(): Promise<void> {
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }
}
