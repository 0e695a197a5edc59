/**
 * Runs the functions given to it one at a time, in the order given: a session's runs are
 * serialised while everything around them (decoding, preprocessing, postprocessing of other
 * requests) goes on. Two concurrent session.run calls would each take all the session's
 * intra-op threads and fight over the cores; one after the other they finish sooner. A rejected
 * run does not hold up the next.
 */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Functions queued behind the running one. */
  get queued(): number {
    return this.waiting;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.waiting += 1;
    const start = () => {
      this.waiting -= 1;
      return task();
    };
    const result = this.tail.then(start, start);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
