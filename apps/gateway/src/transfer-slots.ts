import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * File transfers the gateway handles at once (uploads received, uploaded files read into a
 * batch): each may hold up to a file's size of memory or a connection to the file store, so
 * past the limit the next is answered 429 before any of its body is read.
 */
export class TransferSlots {
  private busy = 0;

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.busy;
  }

  /** Takes a slot or throws 429 with Retry-After; the returned function gives it back (once). */
  take(): () => void {
    if (this.busy >= this.limit)
      throw new VmmError(
        ErrorCode.ResourceExhausted,
        `${this.busy} uploads are being received, the most at once (VMM_MAX_UPLOADS); try again shortly`,
        { retryAfterMs: 1000 },
      );
    this.busy += 1;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.busy -= 1;
    };
  }
}
