import { Tokenizer } from '@huggingface/tokenizers';
import { ErrorCode, VmmError } from '@vmm/errors';
import { modelTextLimits, readChatTemplate, readFolderJson } from '@vmm/runtime';
import { ChatTemplate } from './chat-template.js';
import { tokenBytesTable } from './constrain/token-bytes.js';
import type { TokenDecoder } from './detokenizer.js';
import { thinkingSupport, type ThinkingSupport } from './thinking.js';
import type { ChatMessage } from './types.js';

type Json = Record<string, unknown>;

/** tokenizer_config.json writes special tokens as strings or as AddedToken objects. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') {
    return (value as Json).content as string;
  }
  return undefined;
}

/**
 * The model's tokenizer (`tokenizer.json`) and chat template (`tokenizer_config.json`), used
 * the way Hugging Face uses them: plain prompts get the special tokens the tokenizer's
 * post-processor adds (BOS), rendered chat templates are encoded as they are, since templates
 * write their own special tokens.
 */
export class LlmTokenizer implements TokenDecoder {
  private readonly tokenizer: Tokenizer;
  /** The parsed chat template, or why it does not parse (only chats fail then, not prompts). */
  private readonly template: ChatTemplate | VmmError | undefined;
  private readonly specialTokens: Record<string, string>;
  private longestToken: number | undefined;
  private bytesTable: readonly (Uint8Array | undefined)[] | undefined;
  private thinkingSupport: ThinkingSupport | undefined;

  private constructor(
    private readonly tokenizerJson: Json,
    config: Json,
    /** The chat template's source, wherever the folder keeps it (readChatTemplate). */
    private readonly templateSource: string | undefined,
  ) {
    this.tokenizer = new Tokenizer(tokenizerJson, config);
    const chatTemplate = templateSource;
    this.template = undefined;
    if (chatTemplate !== undefined) {
      try {
        this.template = ChatTemplate.parse(chatTemplate, "the model's chat template");
      } catch (error) {
        this.template = error as VmmError;
      }
    }
    this.specialTokens = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const text = tokenText(config[key]);
      if (text !== undefined) this.specialTokens[key] = text;
    }
  }

  static load(dir: string): LlmTokenizer {
    const json = readFolderJson(dir, 'tokenizer.json', modelTextLimits.tokenizerFileBytes);
    if (!json) throw new VmmError(ErrorCode.FailedPrecondition, 'the model has no tokenizer.json');
    const config = readFolderJson(dir, 'tokenizer_config.json') ?? {};
    return new LlmTokenizer(json, config, readChatTemplate(dir, config));
  }

  /**
   * The UTF-8 length of the longest token as the vocabulary spells it ("▁the", "Ġthe",
   * "<0x41>"): never less than the text one token stands for, so a text of more than
   * `tokens × maxTokenBytes` bytes (allowing for normalizers that shorten text) cannot encode
   * to `tokens` tokens or fewer, and is refused without encoding it.
   */
  get maxTokenBytes(): number {
    if (this.longestToken === undefined) {
      let longest = 1;
      for (const token of this.tokenizer.get_vocab(true).keys())
        longest = Math.max(longest, Buffer.byteLength(token));
      this.longestToken = longest;
    }
    return this.longestToken;
  }

  /** Each token id's bytes in running text; none for special tokens (see tokenBytesTable). */
  get tokenBytes(): readonly (Uint8Array | undefined)[] {
    this.bytesTable ??= tokenBytesTable(this.tokenizerJson);
    return this.bytesTable;
  }

  get chatTemplate(): string | undefined {
    return this.templateSource;
  }

  encode(text: string, addSpecialTokens: boolean): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /**
   * Renders a conversation through the model's chat template, ready for the assistant's turn.
   * `messages` and `tools` are in Hugging Face's shapes (templateMessages, templateTools).
   */
  /** Whether the model thinks, and the template's switch for it (see thinking.ts). */
  get thinking(): ThinkingSupport {
    this.thinkingSupport ??= thinkingSupport(this.chatTemplate);
    return this.thinkingSupport;
  }

  renderChat(
    messages: readonly ChatMessage[] | readonly Json[],
    tools?: readonly Json[],
    variables: Record<string, unknown> = {},
  ): string {
    if (!this.template) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        'this model has no chat template (tokenizer_config.json chat_template); send a raw prompt instead',
      );
    }
    if (this.template instanceof VmmError)
      throw new VmmError(ErrorCode.FailedPrecondition, this.template.message, { cause: this.template });
    try {
      return this.template.render(
        {
          messages,
          ...(tools && tools.length > 0 ? { tools } : {}),
          add_generation_prompt: true,
          ...this.specialTokens,
          ...variables,
        },
        "the model's chat template",
      );
    } catch (error) {
      if (error instanceof VmmError) throw error;
      // Templates raise on conversations they do not support (e.g. roles out of order).
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `the chat template rejected the messages: ${(error as Error).message}`,
        {
          field: 'messages',
          cause: error,
        },
      );
    }
  }
}
