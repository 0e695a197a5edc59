import { ErrorCode, VmmError } from '@vmm/errors';
import { type ModelSession, yieldToEventLoop } from '@vmm/runtime';
import { type DecoderLayout, forward, type KvCache } from './decoder-model.js';
import { IncrementalDetokenizer } from './detokenizer.js';
import type { LlmTokenizer } from './llm-tokenizer.js';
import type { ModelConfig } from './model-config.js';
import { Sampler } from './sampling/sampler.js';
import { resolveSampling } from './sampling/sampling-options.js';
import { StopMatcher } from './stop-matcher.js';
import type { ChatRequest, FinishReason, GenerateRequest, GenerationChunk } from './types.js';

export interface LoadedDecoder {
  session: ModelSession;
  layout: DecoderLayout;
  config: ModelConfig;
  tokenizer: LlmTokenizer;
}

export interface GenerationContext {
  signal: AbortSignal;
  /** When the request arrived (performance.now() ms), for total_duration. */
  startedAt?: number;
  /** Time this request spent loading the model, if it caused the load. */
  loadNs?: number;
  randomSeed?: () => number;
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
function checkTextFits(model: LoadedDecoder, bytes: number, contextSize: number, field: string): void {
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
  model: LoadedDecoder,
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

const elapsedNs = (since: number) => Math.round((performance.now() - since) * 1e6);

/**
 * Generates a completion with a KV cache: the prompt is prefilled once, then one token per
 * step with the presents fed back as past. Yields a chunk per token and a last chunk with the
 * finish reason, token counts and timings. The signal is checked between steps.
 */
export async function* generate(
  model: LoadedDecoder,
  request: GenerateRequest | ChatRequest,
  context: GenerationContext,
): AsyncGenerator<GenerationChunk> {
  const startedAt = context.startedAt ?? performance.now();
  const sampling = resolveSampling(
    request.options ?? {},
    model.config.defaults,
    context.randomSeed ?? (() => Math.floor(Math.random() * 2 ** 32)),
  );
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
  const sampler = new Sampler(sampling);
  const stops = new StopMatcher(sampling.stop);
  const detokenizer = new IncrementalDetokenizer(model.tokenizer, prompt);
  const eos = new Set(model.config.eosTokenIds);
  const history = [...prompt];
  const cache: KvCache = { length: 0, presents: undefined };

  let finishReason: FinishReason = 'length';
  let stopSequence: string | undefined;
  let generated = 0;
  let promptEvalNs: number;
  const evalStart = { at: 0 };
  try {
    const prefillStart = performance.now();
    let logits = await forward(model.session, model.layout, cache, prompt);
    promptEvalNs = elapsedNs(prefillStart);
    evalStart.at = performance.now();
    for (;;) {
      if (context.signal.aborted) {
        finishReason = 'cancelled';
        break;
      }
      const token = sampler.sample(logits, history);
      generated += 1;
      if (eos.has(token)) {
        finishReason = 'stop';
        break;
      }
      history.push(token);
      const released = stops.push(detokenizer.push(token));
      if (released.stop !== undefined) {
        if (released.text) yield { text: released.text, tokenIds: [token] };
        finishReason = 'stop';
        stopSequence = released.stop;
        break;
      }
      yield { text: released.text, tokenIds: [token] };
      if (generated >= limit) break;
      // Lets cancellations (and other messages to this thread) in between steps.
      await yieldToEventLoop();
      if (context.signal.aborted) {
        finishReason = 'cancelled';
        break;
      }
      logits = await forward(model.session, model.layout, cache, [token]);
    }
  } finally {
    cache.presents = undefined;
  }
  // Release what the detokenizer and stop matcher held back, unless cancelled or stopped.
  let rest = '';
  if (finishReason !== 'cancelled' && stopSequence === undefined) {
    const tail = stops.push(detokenizer.flush());
    rest = tail.text;
    if (tail.stop === undefined) rest += stops.flush();
    else {
      finishReason = 'stop';
      stopSequence = tail.stop;
    }
  }
  yield {
    text: rest,
    tokenIds: [],
    done: {
      finishReason,
      promptTokens: prompt.length,
      completionTokens: generated,
      timings: {
        loadNs: context.loadNs ?? 0,
        promptEvalNs,
        evalNs: evalStart.at === 0 ? 0 : elapsedNs(evalStart.at),
        totalNs: elapsedNs(startedAt),
      },
      ...(stopSequence === undefined ? {} : { stopSequence }),
    },
  };
}
