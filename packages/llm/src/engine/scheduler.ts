import { ErrorCode, VmmError } from '@vmm/errors';
import { nsSince, yieldToEventLoop } from '@vmm/runtime';
import type { BatchingOptions } from '../llm-thread-protocol.js';
import type { PreparedRequest } from '../prepare-request.js';
import type { FinishReason, GenerationChunk } from '../types.js';
import type { BatchDecoder } from './batch-decoder.js';
import { ChunkChannel } from './chunk-channel.js';
import { bytesPerToken } from './kv-store.js';

export interface SchedulerOptions extends BatchingOptions {
  /** The model's context window: no sequence is longer. */
  contextLength: number;
}

export interface SchedulerStats {
  running: number;
  waiting: number;
  /** Sequences in the last decode step. */
  batchSize: number;
  kvCacheBytes: number;
  kvCacheBudgetBytes: number;
  /** Cache positions held by running sequences and by cached prefixes. */
  kvCacheTokens: number;
  prefixCacheHits: number;
  prefixCacheTokens: number;
  cachedPrefixes: number;
}

export interface SubmitContext {
  signal: AbortSignal;
  /** When the request arrived (performance.now() ms). */
  startedAt: number;
  loadNs: number;
}

interface Sequence {
  request: PreparedRequest;
  context: SubmitContext;
  channel: ChunkChannel<GenerationChunk>;
  slot: number;
  /** Positions of this sequence in its slot's cache. */
  cached: number;
  phase: 'waiting' | 'prefill' | 'decode';
  /** The token the next decode step feeds. */
  next: number;
  prefillStartedAt: number;
  promptEvalNs: number;
  evalStartedAt: number;
}

/** A finished sequence's cache, kept in its slot for a request that starts the same way. */
interface CachedPrefix {
  tokens: number[];
  lastUsed: number;
}

/** Store capacity comes in whole steps of this many positions. */
const CAPACITY_STEP = 64;
/** Fewer prompt tokens per pass would make a long prompt wait longer than it saves others. */
const MIN_SHARED_CHUNK = 8;
/** A shared chunk's tokens may cost this share of a decode step beyond the step-like base. */
const CHUNK_STEP_SHARE = 0.25;
/** A floor for the measured marginal cost of a prompt token, against noise driving it to 0. */
const MIN_TOKEN_MS = 0.05;
/** An exponential moving average that starts at its first sample. */
const average = (current: number, sample: number) => (current === 0 ? sample : current * 0.8 + sample * 0.2);
/** Shorter common prefixes (a BOS token, a role marker) are not worth giving up a cached one. */
const MIN_PREFIX_REUSE = 16;
const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a[i] === b[i]) i += 1;
  return i;
}

/**
 * Continuous batching for one decoder: every decoding sequence advances one token per forward
 * pass, new requests join at step boundaries, long prompts are prefilled in chunks between
 * decode steps so running streams keep flowing, and finished or cancelled sequences leave at
 * once. Each sequence owns a slot of the KV store; a finished sequence's slot keeps its cache
 * as a prefix that a later request with the same first tokens continues from (LRU).
 */
export class Scheduler {
  private readonly slots: (Sequence | undefined)[];
  private readonly prefixes = new Map<number, CachedPrefix>();
  private readonly waiting: Sequence[] = [];
  private readonly admitted: Sequence[] = [];
  private running = false;
  private clock = 0;
  private lastBatch = 0;
  private prefixHits = 0;
  private prefixTokens = 0;
  private readonly tokenBytes: number;
  /** Running averages for sizing prefill chunks: a decode step, and a prompt token in a chunk. */
  private decodeStepMs = 0;
  private prefillTokenMs = 0;

  constructor(
    private readonly decoder: BatchDecoder,
    private readonly options: SchedulerOptions,
  ) {
    this.tokenBytes = bytesPerToken(decoder.store.shape);
    decoder.store.reserve(options.kvBudgetBytes);
    this.slots = Array.from({ length: options.maxBatch }, () => undefined);
  }

  stats(): SchedulerStats {
    let tokens = 0;
    for (const sequence of this.admitted) tokens += sequence.cached;
    for (const prefix of this.prefixes.values()) tokens += prefix.tokens.length;
    return {
      running: this.admitted.length,
      waiting: this.waiting.length,
      batchSize: this.lastBatch,
      kvCacheBytes: this.decoder.store.bytes,
      kvCacheBudgetBytes: this.options.kvBudgetBytes,
      kvCacheTokens: tokens,
      prefixCacheHits: this.prefixHits,
      prefixCacheTokens: this.prefixTokens,
      cachedPrefixes: this.prefixes.size,
    };
  }

  /** Queues a prepared request; its chunks stream out as the batch advances. */
  submit(request: PreparedRequest, context: SubmitContext): AsyncGenerator<GenerationChunk> {
    const alone = this.bytesFor(1, request.reservation);
    if (alone > this.options.kvBudgetBytes) {
      throw new VmmError(
        ErrorCode.ResourceExhausted,
        `this request may reach ${request.reservation} tokens, whose KV cache (${mib(alone)}) exceeds the budget of ${mib(this.options.kvBudgetBytes)}: lower num_ctx or num_predict, or raise VMM_KV_CACHE_MB`,
      );
    }
    if (this.waiting.length >= this.options.maxWaiting) {
      throw new VmmError(
        ErrorCode.ResourceExhausted,
        `the model is busy: ${this.admitted.length} sequences running and ${this.waiting.length} waiting`,
      );
    }
    const sequence: Sequence = {
      request,
      context,
      channel: new ChunkChannel<GenerationChunk>(),
      slot: -1,
      cached: 0,
      phase: 'waiting',
      next: 0,
      prefillStartedAt: 0,
      promptEvalNs: 0,
      evalStartedAt: 0,
    };
    this.waiting.push(sequence);
    this.start();
    return sequence.channel.drain();
  }

  private start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      // A request may have arrived while the loop was ending.
      if (this.waiting.length > 0) this.start();
    });
  }

  private async loop(): Promise<void> {
    while (this.admitted.length > 0 || this.waiting.length > 0) {
      this.dropCancelled();
      this.admit();
      const prefilling = this.admitted.find((sequence) => sequence.phase === 'prefill');
      const decoding = () => this.admitted.filter((sequence) => sequence.phase === 'decode');
      const others = decoding().length > 0;
      if (prefilling && others && this.positionsNeeded(prefilling) > this.decoder.store.capacity) {
        // Resizing touches fresh pages: done alone in this step's gap, the chunk waits for the next.
        this.ensureStore(this.positionsNeeded(prefilling));
      } else if (prefilling) {
        await this.guarded([prefilling], () => this.prefill(prefilling, others));
      }
      const rows = decoding();
      if (rows.length > 0) await this.guarded(rows, () => this.decode(rows));
      // Lets new requests and cancellations in between steps.
      await yieldToEventLoop();
    }
  }

  /** Runs a model pass; if it fails, the sequences in it fail with its error, the others go on. */
  private async guarded(sequences: Sequence[], pass: () => Promise<void>): Promise<void> {
    try {
      await pass();
    } catch (error) {
      for (const sequence of sequences) {
        this.release(sequence, false);
        sequence.channel.fail(VmmError.from(error));
      }
    }
  }

  private dropCancelled(): void {
    for (const sequence of [...this.waiting, ...this.admitted]) {
      if (sequence.context.signal.aborted) this.finish(sequence, 'cancelled');
    }
  }

  /** Admits waiting requests in order while a slot and the KV budget allow. */
  private admit(): void {
    while (this.waiting.length > 0) {
      const sequence = this.waiting[0] as Sequence;
      const prompt = sequence.request.prompt;
      const free = this.slots.flatMap((owner, slot) => (owner ? [] : [slot]));
      if (free.length === 0) return;
      // The free slot whose cached prefix covers most of the prompt (one token is always left to run).
      let best = { slot: -1, length: 0 };
      for (const slot of free) {
        const prefix = this.prefixes.get(slot);
        const length = prefix ? Math.min(commonPrefix(prefix.tokens, prompt), prompt.length - 1) : 0;
        if (length >= MIN_PREFIX_REUSE && length > best.length) best = { slot, length };
      }
      const empty = free.find((slot) => !this.prefixes.has(slot));
      const lru = [...this.prefixes.entries()]
        .filter(([slot]) => free.includes(slot))
        .sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0]?.[0];
      const slot = best.length > 0 ? best.slot : (empty ?? lru ?? -1);
      if (slot < 0) return;
      if (!this.fits(sequence, slot)) {
        if (this.admitted.length > 0) return;
        if (this.prefixes.size > 0) {
          // Nothing runs: only cached prefixes hold memory, and they give way; choose again.
          this.prefixes.clear();
          this.decoder.store.reset();
          continue;
        }
        this.waiting.shift();
        sequence.channel.fail(
          new VmmError(ErrorCode.ResourceExhausted, 'the KV cache budget cannot hold this request'),
        );
        continue;
      }
      this.waiting.shift();
      const reused = best.length > 0 && slot === best.slot ? best.length : 0;
      this.prefixes.delete(slot);
      if (reused > 0) {
        this.prefixHits += 1;
        this.prefixTokens += reused;
      }
      sequence.slot = slot;
      sequence.cached = reused;
      sequence.phase = 'prefill';
      sequence.prefillStartedAt = performance.now();
      this.slots[slot] = sequence;
      this.admitted.push(sequence);
    }
  }

  /** Whether the store, in the worst case every admitted sequence can reach, stays in budget. */
  private fits(sequence: Sequence, slot: number): boolean {
    let highest = slot;
    let longest = sequence.request.reservation;
    for (const other of this.admitted) {
      highest = Math.max(highest, other.slot);
      longest = Math.max(longest, other.request.reservation);
    }
    for (const [prefixSlot, prefix] of this.prefixes) {
      if (prefixSlot === slot) continue;
      highest = Math.max(highest, prefixSlot);
      longest = Math.max(longest, prefix.tokens.length);
    }
    const capacity = Math.max(this.capacityFor(longest), this.decoder.store.capacity);
    const slots = Math.max(this.slotsFor(highest), this.decoder.store.slots);
    return slots * capacity * this.tokenBytes <= this.options.kvBudgetBytes;
  }

  /** Positions a store needs to hold `positions`, in whole steps of CAPACITY_STEP. */
  private capacityFor(positions: number): number {
    return Math.min(
      Math.ceil(Math.max(1, positions) / CAPACITY_STEP) * CAPACITY_STEP,
      Math.ceil(this.options.contextLength / CAPACITY_STEP) * CAPACITY_STEP,
    );
  }

  private slotsFor(highestSlot: number): number {
    return Math.min(nextPowerOfTwo(highestSlot + 1), this.options.maxBatch);
  }

  private bytesFor(slots: number, positions: number): number {
    return slots * this.capacityFor(positions) * this.tokenBytes;
  }

  /**
   * Sizes the store for the pass about to run, which needs `positions` in some slot. Every pass
   * costs in proportion to the capacity it is fed (ONNX Runtime's attention kernels work over
   * the whole buffer of every row), so capacity follows the sequences: it grows with a quarter
   * of headroom (a growth moves every cached row, so not at every step), never past what the admitted
   * requests may reach, and shrinks once the longest sequence has left, cutting cached prefixes
   * to fit.
   */
  private ensureStore(positions: number): void {
    const store = this.decoder.store;
    let highest = 0;
    let longest = positions;
    let reserved = positions;
    for (const sequence of this.admitted) {
      highest = Math.max(highest, sequence.slot);
      longest = Math.max(longest, this.positionsNeeded(sequence));
      reserved = Math.max(reserved, sequence.request.reservation);
    }
    for (const slot of this.prefixes.keys()) highest = Math.max(highest, slot);
    const slots = Math.max(this.slotsFor(highest), store.slots);
    const needed = this.capacityFor(longest);
    let capacity = store.capacity;
    if (capacity < needed) {
      capacity = Math.max(needed, Math.min(this.capacityFor(capacity * 1.25), this.capacityFor(reserved)));
    } else if (capacity > 2 * needed) {
      capacity = this.capacityFor(needed * 1.25);
      for (const prefix of this.prefixes.values())
        prefix.tokens.length = Math.min(prefix.tokens.length, capacity);
    }
    store.resize(slots, capacity);
  }

  /** Positions a sequence's slot must hold soon: all its prompt (and a step) while prefilling. */
  private positionsNeeded(sequence: Sequence): number {
    return sequence.phase === 'prefill'
      ? Math.min(sequence.request.reservation, sequence.request.prompt.length + CAPACITY_STEP)
      : sequence.cached + 1;
  }

  private async prefill(sequence: Sequence, othersDecoding: boolean): Promise<void> {
    const prompt = sequence.request.prompt;
    const chunk = othersDecoding ? this.sharedChunk() : this.options.prefillChunkAlone;
    const tokens = prompt.slice(sequence.cached, sequence.cached + chunk);
    // Room for the whole prompt (and a step of decoding) at once: one resize, made while little
    // is cached, instead of one every few chunks while the others wait.
    this.ensureStore(this.positionsNeeded(sequence));
    const started = performance.now();
    const [logits] = await this.decoder.step(
      [
        {
          slot: sequence.slot,
          tokens,
          past: sequence.cached,
          features: sequence.request.features,
          mrope: sequence.request.mrope,
        },
      ],
      sequence.slot,
      1,
    );
    if (othersDecoding && this.decodeStepMs > 0) {
      // A chunk costs about a decode step (every weight is read once) plus its tokens' share.
      const marginal = (performance.now() - started - this.decodeStepMs) / tokens.length;
      this.prefillTokenMs = average(this.prefillTokenMs, Math.max(marginal, MIN_TOKEN_MS));
    }
    sequence.cached += tokens.length;
    if (sequence.cached < prompt.length) return;
    // The pictures are in the cache now: their features (megabytes each) need not live on with
    // the sequence (the encoder's cache keeps them for the next turn).
    delete sequence.request.features;
    sequence.promptEvalNs = nsSince(sequence.prefillStartedAt);
    sequence.evalStartedAt = performance.now();
    sequence.phase = 'decode';
    this.advance(sequence, logits as Float32Array);
  }

  private async decode(rows: Sequence[]): Promise<void> {
    let first = Infinity;
    let last = -1;
    let longest = 0;
    for (const row of rows) {
      first = Math.min(first, row.slot);
      last = Math.max(last, row.slot);
      longest = Math.max(longest, row.cached + 1);
    }
    this.ensureStore(longest);
    const capacity = this.decoder.store.capacity;
    for (let slot = first; slot <= last; slot += 1) {
      const prefix = this.prefixes.get(slot);
      // A slot between the rows rides along, and on the shared-buffer path its dummy row is
      // written just past what it keeps: a full prefix gives up its last position for it.
      if (prefix && prefix.tokens.length >= capacity) prefix.tokens.length = capacity - 1;
    }
    this.lastBatch = rows.length;
    const started = performance.now();
    const logits = await this.decoder.step(
      rows.map((row) => ({ slot: row.slot, tokens: [row.next], past: row.cached, mrope: row.request.mrope })),
      first,
      last - first + 1,
      (slot) => this.slots[slot]?.cached ?? this.prefixes.get(slot)?.tokens.length ?? 0,
    );
    this.decodeStepMs = average(this.decodeStepMs, performance.now() - started);
    rows.forEach((row, i) => {
      row.cached += 1;
      this.advance(row, logits[i] as Float32Array);
    });
  }

  /**
   * Prompt tokens for a chunk that runs between decode steps: a chunk costs about one decode
   * step plus a marginal cost per token (both measured as they run), and is sized to about 1.25
   * steps, so a running stream's gap stays near 2.25 steps (vLLM bounds it with a token budget
   * per step; GroupQueryAttention cannot mix a chunk and decode rows in one pass).
   */
  private sharedChunk(): number {
    if (this.decodeStepMs === 0 || this.prefillTokenMs === 0) return MIN_SHARED_CHUNK;
    const fit = Math.floor((CHUNK_STEP_SHARE * this.decodeStepMs) / this.prefillTokenMs);
    return Math.max(MIN_SHARED_CHUNK, Math.min(this.options.prefillChunk, fit));
  }

  /** Samples a sequence's next token and sends its text; ends the sequence when it is done. */
  private advance(sequence: Sequence, logits: Float32Array): void {
    const { output } = sequence.request;
    const { chunk, token } = output.accept(logits);
    if (chunk) sequence.channel.push(chunk);
    sequence.next = token;
    if (output.finishReason !== undefined) this.finish(sequence, output.finishReason);
  }

  private finish(sequence: Sequence, reason: FinishReason): void {
    const wasWaiting = sequence.phase === 'waiting';
    this.release(sequence, !wasWaiting);
    const { context, request } = sequence;
    sequence.channel.push(
      request.output.finish(reason, request.prompt.length, {
        loadNs: context.loadNs,
        promptEvalNs: sequence.promptEvalNs,
        evalNs: sequence.evalStartedAt === 0 ? 0 : nsSince(sequence.evalStartedAt),
        totalNs: nsSince(context.startedAt),
        queueNs: Math.max(
          0,
          (sequence.prefillStartedAt === 0
            ? nsSince(context.startedAt)
            : Math.round((sequence.prefillStartedAt - context.startedAt) * 1e6)) - context.loadNs,
        ),
      }),
    );
    sequence.channel.end();
  }

  /** Takes a sequence out of the batch or the queue; `keep` leaves its cache as a prefix. */
  private release(sequence: Sequence, keep: boolean): void {
    const waitingIndex = this.waiting.indexOf(sequence);
    if (waitingIndex >= 0) this.waiting.splice(waitingIndex, 1);
    const index = this.admitted.indexOf(sequence);
    if (index >= 0) this.admitted.splice(index, 1);
    if (sequence.slot >= 0 && this.slots[sequence.slot] === sequence) {
      this.slots[sequence.slot] = undefined;
      if (keep && this.options.prefixReuse && sequence.cached > 0) {
        this.clock += 1;
        const { prompt, output } = sequence.request;
        this.prefixes.set(sequence.slot, {
          // The prompt as fed (image ids stand for their pictures), then what was generated.
          tokens: [...prompt, ...output.history.slice(prompt.length)].slice(0, sequence.cached),
          lastUsed: this.clock,
        });
      }
    }
    sequence.phase = 'waiting';
    if (this.admitted.length === 0 && this.prefixes.size === 0) this.decoder.store.reset();
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
