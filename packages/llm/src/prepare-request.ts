import { ErrorCode, VmmError } from '@vmm/errors';
import { compileFormat, tokenTrie } from './constrain/format-cache.js';
import { JsonConstraint } from './constrain/json-constraint.js';
import { IncrementalDetokenizer } from './detokenizer.js';
import { ThinkingSplitter, thinkingVariables, type ThinkSetting } from './thinking.js';
import type { LlmTokenizer } from './llm-tokenizer.js';
import type { ModelConfig } from './model-config.js';
import { tokenLogprobs } from './sampling/logprobs.js';
import { Sampler } from './sampling/sampler.js';
import { resolveSampling } from './sampling/sampling-options.js';
import { StopMatcher } from './stop-matcher.js';
import { type ImageFeatures, isImageId } from './vision/image-features.js';
import { contentParts, expandImages, type ImageGrid } from './vision/image-prompt.js';
import { type MropePositions, mropePositions } from './vision/mrope-positions.js';
import type { VisionLanguageSpec } from './vision/vision-language-spec.js';
import {
  mayBeToolCall,
  messagesWithDefaultTools,
  parseToolCalls,
  templateMessages,
  templateTakesTools,
  templateTools,
  toolCallSchema,
} from './tools/tool-calls.js';
import type {
  ChatMessage,
  ChatRequest,
  FinishReason,
  GenerateRequest,
  GenerationChunk,
  GenerationTimings,
  OutputFormat,
  TokenLogprob,
  ToolCall,
  ToolSpec,
} from './types.js';

/** What turning requests into prompts and tokens into text needs of a model. */
export interface TextModel {
  config: ModelConfig;
  tokenizer: LlmTokenizer;
  /** A vision-language model's image handling. */
  vision?: VisionLanguageSpec;
}

/** An image of a request, in prompt order: how it was cut and the prompt ids its rows take. */
export interface PlacedImage {
  grid: ImageGrid;
  first: number;
  count: number;
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

/**
 * A conversation rendered through the model's chat template. Templates that read `tools` get
 * them, with the calls and tool turns as they are; others get the tools in a system message and
 * the history rewritten (messagesWithDefaultTools).
 */
export function chatPrompt(
  tokenizer: LlmTokenizer,
  messages: readonly ChatMessage[],
  tools: readonly ToolSpec[] = [],
  think?: ThinkSetting,
  multimodal = false,
): string {
  const variables = thinkingVariables(tokenizer.thinking, think);
  const takesTools = templateTakesTools(tokenizer.chatTemplate);
  const source = takesTools ? messages : messagesWithDefaultTools(messages, tools);
  // A vision-language template reads every message's content as a list of text and image parts.
  const rendered = templateMessages(source).map((message, i) =>
    multimodal ? { ...message, content: contentParts(source[i] as ChatMessage) } : message,
  );
  return tokenizer.renderChat(
    rendered,
    takesTools && tools.length > 0 ? templateTools(tools) : undefined,
    variables,
  );
}

/** The prompt's token ids for a completion or chat request; validates before any compute. */
export function promptIds(
  model: TextModel,
  request: GenerateRequest | ChatRequest,
  contextSize: number = model.config.maxPositions,
  images: readonly PlacedImage[] = [],
): { ids: number[]; field: string; opensThinking?: boolean } {
  const { tokenizer, vision } = model;
  /** A vision-language model's prompt: each image place expanded, then ids for each image's rows. */
  const encodeText = (text: string, field: string, addSpecialTokens: boolean) => {
    if (!vision) return tokenizer.encode(text, addSpecialTokens);
    const expanded = expandImages(
      vision,
      text,
      images.map((image) => image.grid),
      field,
    );
    checkTextFits(model, Buffer.byteLength(expanded), contextSize, field);
    return placeImageIds(tokenizer.encode(expanded, addSpecialTokens), vision.imageTokenId, images, field);
  };
  /** Renders a conversation through the chat template (chatPrompt) and encodes it, if it can fit. */
  const encodeChat = (
    messages: ChatRequest['messages'],
    field: string,
    tools: readonly ToolSpec[] = [],
    think?: ThinkSetting,
  ) => {
    const rendered = chatPrompt(tokenizer, messages, tools, think, vision !== undefined);
    checkTextFits(model, Buffer.byteLength(rendered), contextSize, field);
    return {
      ids: encodeText(rendered, field, false),
      field,
      opensThinking: ThinkingSplitter.opensThinking(rendered),
    };
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
    const contentBytes = request.messages.reduce(
      (sum, m) =>
        sum +
        Buffer.byteLength(m.content) +
        (m.toolCalls ?? []).reduce((n, c) => n + Buffer.byteLength(c.arguments), 0),
      0,
    );
    const toolBytes = (request.tools ?? []).reduce(
      (sum, t) => sum + Buffer.byteLength(t.parameters ?? '') + Buffer.byteLength(t.description ?? ''),
      0,
    );
    checkTextFits(model, contentBytes + toolBytes, contextSize, 'messages');
    if (request.think !== undefined && request.think !== false && !tokenizer.thinking.canThink)
      throw new VmmError(
        ErrorCode.InvalidArgument,
        'think: this model does not think (its chat template has no thinking); leave think out or false',
        { field: 'think' },
      );
    return encodeChat(request.messages, 'messages', request.tools, request.think);
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
  const context = request.context ?? [];
  if (context.length > 0) {
    // Ollama's context: the earlier exchange's ids, continued by this prompt without a new BOS.
    const size = tokenizer.tokenBytes.length;
    if (
      context.length >= contextSize ||
      context.some((id) => !Number.isInteger(id) || id < 0 || id >= size)
    ) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `context must be token ids of this model (below ${size}), fewer than the context window of ${contextSize}`,
        { field: 'context' },
      );
    }
  }
  if (request.raw) {
    return {
      ids: [...context, ...encodeText(request.prompt, 'prompt', context.length === 0)],
      field: 'prompt',
    };
  }
  const messages: ChatMessage[] = [
    ...(request.system ? [{ role: 'system' as const, content: request.system }] : []),
    {
      role: 'user' as const,
      content: request.prompt,
      ...(request.images?.length ? { images: request.images.map((data) => ({ data })) } : {}),
    },
  ];
  const encoded = encodeChat(messages, 'prompt');
  return { ids: [...context, ...encoded.ids], field: encoded.field };
}

/** A validated request: its prompt ids, how many tokens it may add, and its output state. */
export interface PreparedRequest {
  /** As fed: an image's rows are image ids (image-features.ts), one per row. */
  prompt: number[];
  /** The features of the prompt's images, once encoded. */
  features?: ImageFeatures[];
  /** A model with multimodal rotary positions (Qwen2-VL): the prompt's, and the offset after it. */
  mrope?: MropePositions;
  /** Positions the sequence may reach: prompt + the most tokens it may generate. */
  reservation: number;
  output: SequenceOutput;
}

/** Validates a request and tokenizes its prompt; throws InvalidArgument before any compute. */
export function prepareRequest(
  model: TextModel,
  request: GenerateRequest | ChatRequest,
  randomSeed: () => number = () => Math.floor(Math.random() * 2 ** 32),
  images: readonly PlacedImage[] = [],
): PreparedRequest {
  const sampling = resolveSampling(request.options ?? {}, model.config.defaults, randomSeed);
  const contextSize = Math.min(sampling.contextSize ?? model.config.maxPositions, model.config.maxPositions);
  const { ids: prompt, field, opensThinking } = promptIds(model, request, contextSize, images);
  // Generation continues from the prompt's last token: with none there is nothing to run (a
  // chat template can render a conversation to nothing; a raw prompt can be empty).
  if (prompt.length === 0) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      'messages' in request
        ? "the model's chat template rendered this conversation to no tokens"
        : 'the prompt encodes to no tokens',
      { field },
    );
  }
  if (prompt.length >= contextSize) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the prompt is ${prompt.length} tokens; the context window is ${contextSize} tokens`,
      { field },
    );
  }
  const limit = Math.min(sampling.maxTokens ?? Infinity, contextSize - prompt.length);
  for (const id of sampling.logitBias.keys()) {
    if (id >= model.tokenizer.tokenBytes.length) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `logit_bias names token ${id}; the vocabulary has ${model.tokenizer.tokenBytes.length}`,
        {
          field: 'logit_bias',
        },
      );
    }
  }
  const tools = 'messages' in request ? (request.tools ?? []) : [];
  const choice = 'messages' in request ? (request.toolChoice ?? 'auto') : 'none';
  if ((choice === 'required' || typeof choice === 'object') && tools.length === 0) {
    throw new VmmError(ErrorCode.InvalidArgument, 'tool_choice asks for a call but no tools were given', {
      field: 'tool_choice',
    });
  }
  const forced = tools.length > 0 && (choice === 'required' || typeof choice === 'object');
  if (forced && request.format) {
    throw new VmmError(ErrorCode.InvalidArgument, 'a format cannot be combined with a required tool call', {
      field: 'format',
    });
  }
  const format: OutputFormat | undefined = forced
    ? { type: 'json_schema', schema: JSON.stringify(toolCallSchema(tools, choice)) }
    : request.format;
  const constraint = format
    ? new JsonConstraint(tokenTrie(model.tokenizer), compileFormat(format), model.config.eosTokenIds)
    : undefined;
  const needed = constraint?.tokensToFinish();
  if (constraint && needed === undefined) {
    throw new VmmError(ErrorCode.InvalidArgument, 'format: no finite JSON text satisfies the schema', {
      field: 'format',
    });
  }
  if (needed !== undefined && needed > limit) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the shortest output the format allows takes ${needed} tokens; max_tokens (or the context left) allows ${limit}`,
      { field: 'max_tokens' },
    );
  }
  const vision = model.vision;
  // The output sees tokens only: each image row as the image token it replaced.
  const promptTokens = tokenIds(model, prompt);
  const mrope =
    vision?.kind === 'qwen2-vl'
      ? mropePositions(
          promptTokens,
          images.map(({ grid }) => {
            const [t, h, w] = 'thw' in grid ? grid.thw : [1, 1, 1];
            const m = vision.image.mergeSize;
            return [t, h / m, w / m] as const;
          }),
          vision.imageTokenId,
          vision.visionStartId,
        )
      : undefined;
  return {
    prompt,
    ...(mrope ? { mrope } : {}),
    // The last token sampled is never fed back, so it needs no cache position.
    reservation: prompt.length + limit - 1,
    output: new SequenceOutput(
      model,
      promptTokens,
      new Sampler(sampling),
      new StopMatcher(sampling.stop),
      limit,
      {
        constraint,
        topLogprobs: sampling.topLogprobs,
        // Calls are looked for when tools may be called; with `none` the output stays text.
        tools: tools.length > 0 && choice !== 'none' ? { specs: tools, forced } : undefined,
        // A context cannot carry pictures: a generate request with images returns none.
        returnContext: !('messages' in request) && images.length === 0,
        // A thinking model's chat output is split into thinking and answer; a constrained one
        // (a format, a forced call) writes no thought.
        thinking:
          'messages' in request && model.tokenizer.thinking.canThink && !constraint
            ? { opens: opensThinking === true }
            : undefined,
      },
    ),
  };
}

/**
 * Gives each image token of `ids`, in order, the id of its image's next row; the count must
 * match the images' rows (the template and the processor agree on where images go).
 */
function placeImageIds(
  ids: number[],
  imageTokenId: number,
  images: readonly PlacedImage[],
  field: string,
): number[] {
  const rows = images.flatMap((image) => Array.from({ length: image.count }, (_, i) => image.first + i));
  let next = 0;
  const placed = ids.map((id) => (id === imageTokenId ? (rows[next++] ?? -1) : id));
  if (next !== rows.length) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the prompt encodes to ${next} image tokens where its images take ${rows.length}`,
      { field },
    );
  }
  return placed;
}

/** A prompt's token ids: image ids back to the model's image token. */
function tokenIds(model: TextModel, prompt: readonly number[]): number[] {
  const image = model.vision?.imageTokenId;
  return image === undefined ? [...prompt] : prompt.map((id) => (isImageId(id) ? image : id));
}

export interface OutputOptions {
  constraint?: JsonConstraint | undefined;
  /** Alternatives to report per token; -1: no logprobs. */
  topLogprobs?: number;
  tools?: { specs: readonly ToolSpec[]; forced: boolean } | undefined;
  /** Report prompt and output ids at the end (Ollama's generate `context`). */
  returnContext?: boolean;
  /** Split `<think>…</think>` into chunks' `thinking`; `opens`: the prompt left a thought open. */
  thinking?: { opens: boolean } | undefined;
}

/**
 * One sequence's way from logits to text: masks what the format forbids, samples a token,
 * checks end of sequence, the token limit and stop sequences, and releases text once no stop
 * sequence can still be forming, nor a tool call.
 */
export class SequenceOutput {
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly eos: Set<number>;
  /** Prompt and generated ids, for repetition penalties and prefix reuse. */
  readonly history: number[];
  generated = 0;
  finishReason: FinishReason | undefined;
  private stopSequence: string | undefined;
  /** Text held back while it may be a tool call; undefined once it is known not to be. */
  private held: string | undefined;
  private readonly topLogprobs: number;
  private readonly splitter: ThinkingSplitter | undefined;

  constructor(
    private readonly model: TextModel,
    prompt: readonly number[],
    private readonly sampler: Sampler,
    private readonly stops: StopMatcher,
    private readonly limit: number,
    private readonly options: OutputOptions = {},
  ) {
    this.detokenizer = new IncrementalDetokenizer(model.tokenizer, prompt);
    this.eos = new Set(model.config.eosTokenIds);
    this.history = [...prompt];
    this.topLogprobs = options.topLogprobs ?? -1;
    if (options.tools) this.held = '';
    this.splitter = options.thinking ? new ThinkingSplitter(options.thinking.opens) : undefined;
  }

  /**
   * Samples the next token from `logits` (modified). Returns the chunk to send, if any, and the
   * token to feed next; `finishReason` is set once the sequence has ended.
   */
  accept(logits: Float32Array): { chunk: GenerationChunk | undefined; token: number } {
    this.sampler.process(logits, this.history);
    this.options.constraint?.mask(logits, this.limit - this.generated);
    const token = this.sampler.pick(logits);
    const logprobs = this.topLogprobs >= 0 ? [this.logprobOf(logits, token)] : undefined;
    this.options.constraint?.accept(token);
    this.generated += 1;
    if (this.eos.has(token)) {
      this.finishReason = 'stop';
      return { chunk: undefined, token };
    }
    this.history.push(token);
    const released = this.stops.push(this.detokenizer.push(token));
    const chunk = (text: string): GenerationChunk => {
      const split = this.splitter ? this.splitter.push(text) : { thinking: '', content: text };
      return {
        text: this.hold(split.content),
        ...(split.thinking ? { thinking: split.thinking } : {}),
        tokenIds: [token],
        ...(logprobs ? { logprobs } : {}),
      };
    };
    if (released.stop !== undefined) {
      this.finishReason = 'stop';
      this.stopSequence = released.stop;
      return { chunk: released.text || logprobs ? chunk(released.text) : undefined, token };
    }
    // A format ends the output once it is complete and nothing can follow: a natural stop,
    // without spending a step on EOS.
    if (this.options.constraint?.finished) this.finishReason = 'stop';
    else if (this.generated >= this.limit) this.finishReason = 'length';
    return { chunk: chunk(released.text), token };
  }

  /** Text to send now: all of it, unless it may still be a tool call. */
  private hold(text: string): string {
    if (this.held === undefined) return text;
    this.held += text;
    if (this.options.tools?.forced || mayBeToolCall(this.held)) return '';
    const out = this.held;
    this.held = undefined;
    return out;
  }

  private logprobOf(logits: Float32Array, token: number): TokenLogprob {
    const { logprob, top } = tokenLogprobs(logits, token, this.topLogprobs);
    return { ...this.describe(token, logprob), top: top.map((t) => this.describe(t.id, t.logprob)) };
  }

  private describe(tokenId: number, logprob: number) {
    const bytes = this.model.tokenizer.tokenBytes[tokenId];
    return {
      tokenId,
      token: bytes ? Buffer.from(bytes).toString('utf8') : this.model.tokenizer.decode([tokenId]),
      logprob,
      bytes: bytes ? [...bytes] : [],
    };
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
    let thinking = '';
    if (this.splitter) {
      const pushed = this.splitter.push(rest);
      const flushed = this.splitter.flush();
      thinking = pushed.thinking + flushed.thinking;
      rest = pushed.content + flushed.content;
    }
    let toolCalls: ToolCall[] | undefined;
    if (this.held !== undefined && this.options.tools) {
      const output = this.held + rest;
      this.held = undefined;
      const parsed =
        finishReason === 'cancelled'
          ? { calls: [], content: output }
          : parseToolCalls(output, this.options.tools.specs);
      rest = parsed.content;
      if (parsed.calls.length > 0) {
        toolCalls = parsed.calls;
        finishReason = 'tool_calls';
      }
    }
    return {
      text: rest,
      ...(thinking ? { thinking } : {}),
      tokenIds: [],
      done: {
        finishReason,
        promptTokens,
        completionTokens: this.generated,
        timings,
        ...(this.stopSequence === undefined ? {} : { stopSequence: this.stopSequence }),
        ...(toolCalls ? { toolCalls } : {}),
        ...(this.options.returnContext ? { context: [...this.history] } : {}),
      },
    };
  }
}
