/** What a request asks of a model's thinking: Ollama's `think` (a level where a template takes one). */
export type ThinkSetting = boolean | 'low' | 'medium' | 'high';

/** How a chat template lets the caller turn thinking on or off, if it does. */
export interface ThinkingSupport {
  /** The model writes `<think>…</think>` (its template mentions the tags, or has a switch). */
  canThink: boolean;
  /** The template's own switch: Qwen 3's `enable_thinking`, gpt-oss's `reasoning_effort`, DeepSeek's `thinking`. */
  switches: readonly ('enable_thinking' | 'reasoning_effort' | 'thinking')[];
}

export function thinkingSupport(template: string | undefined): ThinkingSupport {
  if (template === undefined) return { canThink: false, switches: [] };
  const switches = (['enable_thinking', 'reasoning_effort', 'thinking'] as const).filter((name) =>
    new RegExp(`\\b${name}\\b(?!_)`).test(template.replaceAll('reasoning_content', '')),
  );
  return { canThink: switches.length > 0 || template.includes('<think>'), switches };
}

/** The template variables that carry `think` to a template with a switch. */
export function thinkingVariables(
  support: ThinkingSupport,
  think: ThinkSetting | undefined,
): Record<string, unknown> {
  if (think === undefined) return {};
  const on = think !== false;
  const out: Record<string, unknown> = {};
  for (const name of support.switches) {
    if (name === 'reasoning_effort') out[name] = typeof think === 'string' ? think : on ? 'medium' : 'low';
    else out[name] = on;
  }
  return out;
}

const OPEN = '<think>';
const CLOSE = '</think>';

/** The longest end of `text` that is a start of `tag`: held back, it may be the tag's first half. */
function partialTag(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n -= 1)
    if (tag.startsWith(text.slice(-n))) return n;
  return 0;
}

/**
 * Splits a thinking model's output, as it streams, into its thinking (between `<think>` and
 * `</think>`) and its answer. The output starts inside the thinking when the prompt left a
 * `<think>` open (templates that begin the thought for the model); otherwise a `<think>` at
 * the start of the output (after whitespace) opens it. A tag cut between two chunks is held
 * until it is whole. Whitespace the tags are written with is not part of either side.
 */
export class ThinkingSplitter {
  private state: 'start' | 'thinking' | 'answer';
  private pending = '';
  /** Whitespace right after `<think>` and right after `</think>` belongs to neither side. */
  private trimNext = false;

  constructor(promptOpensThinking: boolean) {
    this.state = promptOpensThinking ? 'thinking' : 'start';
    this.trimNext = promptOpensThinking;
  }

  /** Whether a rendered prompt ends inside a thought the model is to go on with. */
  static opensThinking(prompt: string): boolean {
    return prompt.lastIndexOf(OPEN) > prompt.lastIndexOf(CLOSE);
  }

  push(text: string): { thinking: string; content: string } {
    this.pending += text;
    let thinking = '';
    let content = '';
    for (;;) {
      if (this.state === 'start') {
        const trimmed = this.pending.trimStart();
        if (trimmed === '' || (trimmed.length < OPEN.length && OPEN.startsWith(trimmed))) break;
        if (trimmed.startsWith(OPEN)) {
          this.pending = trimmed.slice(OPEN.length);
          this.state = 'thinking';
          this.trimNext = true;
        } else this.state = 'answer';
        continue;
      }
      if (this.trimNext) {
        this.pending = this.pending.trimStart();
        if (this.pending === '') break;
        this.trimNext = false;
      }
      if (this.state === 'thinking') {
        const end = this.pending.indexOf(CLOSE);
        if (end < 0) {
          // Held: a tag's first half, and the whitespace before it (written with the tag).
          let cut = this.pending.length - partialTag(this.pending, CLOSE);
          while (cut > 0 && /\s/.test(this.pending[cut - 1] as string)) cut -= 1;
          thinking += this.pending.slice(0, cut);
          this.pending = this.pending.slice(cut);
          break;
        }
        thinking += this.pending.slice(0, end).trimEnd();
        this.pending = this.pending.slice(end + CLOSE.length);
        this.state = 'answer';
        this.trimNext = true;
        continue;
      }
      content += this.pending;
      this.pending = '';
      break;
    }
    return { thinking, content };
  }

  /** What is left at the end: a thought never closed stays thinking. */
  flush(): { thinking: string; content: string } {
    const rest = this.pending;
    this.pending = '';
    if (this.state === 'thinking') return { thinking: rest, content: '' };
    return { thinking: '', content: rest };
  }
}
