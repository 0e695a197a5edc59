import { ErrorCode, VmmError } from '@vmm/errors';
import { IncrementalDetokenizer } from './detokenizer.js';
import type { LlmTokenizer } from './llm-tokenizer.js';
import type { ModelConfig } from './model-config.js';
import { Sampler } from './sampling/sampler.js';
import { resolveSampling } from './sampling/sampling-options.js';
import { StopMatcher } from './stop-matcher.js';
import type {
  ChatRequest,
  FinishReason,
  GenerateRequest,
  GenerationChunk,
  GenerationTimings,
} from './types.js';

/** What turning requests into prompts and tokens into text needs of a model. */
export interface TextModel {
  config: ModelConfig;
  tokenizer: LlmTokenizer;
}

const validRoles = new Set(['system', 'user', 'assistant', 'tool']);

/**
 * Normalizers may shorten text before it is split into tokens (NFKC turns the 3-byte "Ａ"
 * into "A"): the byte bound on a prompt allows for up to this factor.
 */
const NORMALIZER_SLACK = 4;

/**
 * Tokenizing runs on the model's thread and cannot be interrupted: a text that cannot fit the
 * context whatever its tokens is refused before it is tokenized, so one huge prompt cannot
 * hold the model (and the requests queued behind it) for seconds, or exhaust its memory.
 */
function checkTextFits(model: TextModel, bytes: number, contextSize: number, field: string): void {
  const limit = contextSize * model.tokenizer.maxTokenBytes * NORMALIZER_SLACK;
  if (bytes > limit) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the prompt is ${bytes} bytes; a context window of ${contextSize} tokens cannot hold more than ${limit} bytes of this model's text`,
      { field },
    );
  }
}

/** The prompt's token ids for a completion or chat request; validates before any compute. */
export function promptIds(
  model: TextModel,
  request: GenerateRequest | ChatRequest,
  contextSize: number = model.config.maxPositions,
): { ids: number[]; field: string } {
  const { tokenizer } = model;
  /** Renders a conversation through the chat template and encodes it, if it can fit. */
  const encodeChat = (messages: ChatRequest['messages'], field: string) => {
    const rendered = tokenizer.renderChat(messages);
    checkTextFits(model, Buffer.byteLength(rendered), contextSize, field);
    return { ids: tokenizer.encode(rendered, false), field };
  };
  if ('messages' in request) {
    if (!Array.isArray(request.messages) || request.messages.length === 0) {
      throw new VmmError(ErrorCode.InvalidArgument, 'messages must hold at least one message', {
        field: 'messages',
      });
    }
    request.messages.forEach((message, i) => {
      if (!validRoles.has(message.role)) {
        throw new VmmError(
          ErrorCode.InvalidArgument,
          `messages[${i}].role must be system, user, assistant or tool`,
          {
            field: `messages[${i}].role`,
          },
        );
      }
      if (typeof message.content !== 'string') {
        throw new VmmError(ErrorCode.InvalidArgument, `messages[${i}].content must be a string`, {
          field: `messages[${i}].content`,
        });
      }
    });
    // Every chat template writes at least one token per message (its role marker).
    if (request.messages.length > contextSize) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `${request.messages.length} messages cannot fit a context window of ${contextSize} tokens`,
        { field: 'messages' },
      );
    }
    const contentBytes = request.messages.reduce((sum, m) => sum + Buffer.byteLength(m.content), 0);
    checkTextFits(model, contentBytes, contextSize, 'messages');
    return encodeChat(request.messages, 'messages');
  }
  if (typeof request.prompt !== 'string' || request.prompt.length === 0) {
    throw new VmmError(ErrorCode.InvalidArgument, 'prompt must not be empty', { field: 'prompt' });
  }
  checkTextFits(
    model,
    Buffer.byteLength(request.prompt) + Buffer.byteLength(request.system ?? ''),
    contextSize,
    'prompt',
  );
  if (request.raw) return { ids: tokenizer.encode(request.prompt, true), field: 'prompt' };
  const messages = [
    ...(request.system ? [{ role: 'system' as const, content: request.system }] : []),
    { role: 'user' as const, content: request.prompt },
  ];
  return encodeChat(messages, 'prompt');
}

/** A validated request: its prompt ids, how many tokens it may add, and its output state. */
export interface PreparedRequest {
  prompt: number[];
  /** Positions the sequence may reach: prompt + the most tokens it may generate. */
  reservation: number;
  output: SequenceOutput;
}

/** Validates a request and tokenizes its prompt; throws InvalidArgument before any compute. */
export function prepareRequest(
  model: TextModel,
  request: GenerateRequest | ChatRequest,
  randomSeed: () => number = () => Math.floor(Math.random() * 2 ** 32),
): PreparedRequest {
  const sampling = resolveSampling(request.options ?? {}, model.config.defaults, randomSeed);
  const contextSize = Math.min(sampling.contextSize ?? model.config.maxPositions, model.config.maxPositions);
  const { ids: prompt, field } = promptIds(model, request, contextSize);
  if (prompt.length >= contextSize) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the prompt is ${prompt.length} tokens; the context window is ${contextSize} tokens`,
      { field },
    );
  }
  const limit = Math.min(sampling.maxTokens ?? Infinity, contextSize - prompt.length);
  return {
    prompt,
    // The last token sampled is never fed back, so it needs no cache position.
    reservation: prompt.length + limit - 1,
    output: new SequenceOutput(model, prompt, new Sampler(sampling), new StopMatcher(sampling.stop), limit),
  };
}

/**
 * One sequence's way from logits to text: samples a token, checks end of sequence, the token
 * limit and stop sequences, and releases text once no stop sequence can still be forming.
 */
export class SequenceOutput {
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly eos: Set<number>;
  /** Prompt and generated ids, for repetition penalties and prefix reuse. */
  readonly history: number[];
  generated = 0;
  finishReason: FinishReason | undefined;
  private stopSequence: string | undefined;

  constructor(
    model: TextModel,
    prompt: readonly number[],
    private readonly sampler: Sampler,
    private readonly stops: StopMatcher,
    private readonly limit: number,
  ) {
    this.detokenizer = new IncrementalDetokenizer(model.tokenizer, prompt);
    this.eos = new Set(model.config.eosTokenIds);
    this.history = [...prompt];
  }

  /**
   * Samples the next token from `logits` (modified). Returns the chunk to send, if any, and the
   * token to feed next; `finishReason` is set once the sequence has ended.
   */
  accept(logits: Float32Array): { chunk: GenerationChunk | undefined; token: number } {
    const token = this.sampler.sample(logits, this.history);
    this.generated += 1;
    if (this.eos.has(token)) {
      this.finishReason = 'stop';
      return { chunk: undefined, token };
    }
    this.history.push(token);
    const released = this.stops.push(this.detokenizer.push(token));
    if (released.stop !== undefined) {
      this.finishReason = 'stop';
      this.stopSequence = released.stop;
      return { chunk: released.text ? { text: released.text, tokenIds: [token] } : undefined, token };
    }
    if (this.generated >= this.limit) this.finishReason = 'length';
    return { chunk: { text: released.text, tokenIds: [token] }, token };
  }

  /** The last chunk: what the detokenizer and stop matcher held back, unless cut short. */
  finish(reason: FinishReason, promptTokens: number, timings: GenerationTimings): GenerationChunk {
    let finishReason = this.finishReason ?? reason;
    let rest = '';
    if (finishReason !== 'cancelled' && this.stopSequence === undefined) {
      const tail = this.stops.push(this.detokenizer.flush());
      rest = tail.text;
      if (tail.stop === undefined) rest += this.stops.flush();
      else {
        finishReason = 'stop';
        this.stopSequence = tail.stop;
      }
    }
    return {
      text: rest,
      tokenIds: [],
      done: {
        finishReason,
        promptTokens,
        completionTokens: this.generated,
        timings,
        ...(this.stopSequence === undefined ? {} : { stopSequence: this.stopSequence }),
      },
    };
  }
}
