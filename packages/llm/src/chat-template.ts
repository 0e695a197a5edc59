import * as jinja from '@huggingface/jinja';
import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * What one render may spend. A chat template comes from whoever created the model (an uploaded
 * tokenizer_config.json, a Modelfile TEMPLATE), and Jinja can loop, concatenate and nest without
 * end: `range(1e9)` alone allocates gigabytes before any check of the output could run.
 */
export interface TemplateBudget {
  /** Nodes evaluated (a loop's body counts once per pass). */
  steps: number;
  /** Nesting of evaluations (expressions, blocks, macro calls). */
  depth: number;
  /** Characters of any one string the render makes. */
  chars: number;
  /** Items of any one list the render makes (`range()` included). */
  items: number;
  /** Wall-clock milliseconds. */
  ms: number;
}

/**
 * Far above real templates (Llama 3.1's, with tools, renders a long chat in a few thousand
 * steps at a depth under 40) and far below what would hold a model thread for long: the
 * interpreter takes about 3 µs a step, so the steps bound a render to about a second.
 */
export const DEFAULT_TEMPLATE_BUDGET: TemplateBudget = {
  steps: 300_000,
  depth: 256,
  // A rendered prompt longer than this fits no context window VMM serves with room to spare
  // (4 Mi characters is about a million tokens); lists in real templates are the messages.
  chars: 4 * 1024 * 1024,
  items: 100_000,
  ms: 2_000,
};

/** Thrown inside a render that ran out of budget; becomes a 400 naming the template. */
class BudgetExceeded extends Error {}

/** The parts of the interpreter's nodes and values that the budget looks at. */
interface Node {
  type: string;
  operator?: { value: string };
  callee?: Node;
  args?: Node[];
  value?: unknown;
}
interface Value {
  type: string;
  value: unknown;
}

/** What the library's runtime classes are, as far as this uses them. */
interface Environment {
  set(name: string, value: unknown): unknown;
}
interface Interpreter {
  run(program: unknown): Value;
  evaluate(statement: unknown, environment: Environment): Value;
}
// The library's .d.ts files import "./runtime" without an extension, which NodeNext resolution
// cannot follow: its runtime classes are typed here by the parts used.
const Environment = jinja.Environment as unknown as new () => Environment;
const Interpreter = jinja.Interpreter as unknown as new (env: Environment) => Interpreter;

/** A node whose value was computed already (a checked call's arguments). */
const EVALUATED = 'VmmEvaluated';

/** The interpreter, metered: every evaluation counts, and what it makes is measured. */
class MeteredInterpreter extends Interpreter {
  private steps = 0;
  private depth = 0;
  private readonly deadline: number;

  constructor(
    env: Environment,
    private readonly budget: TemplateBudget,
  ) {
    super(env);
    this.deadline = Date.now() + budget.ms;
  }

  override evaluate(statement: unknown, environment: Environment): Value {
    const node = statement as Node | undefined;
    if (node?.type === EVALUATED) return node.value as Value;
    this.steps += 1;
    if (this.steps > this.budget.steps) throw new BudgetExceeded(`more than ${this.budget.steps} steps`);
    if ((this.steps & 4095) === 0 && Date.now() > this.deadline)
      throw new BudgetExceeded(`more than ${this.budget.ms} ms`);
    if (this.depth >= this.budget.depth) throw new BudgetExceeded(`nesting deeper than ${this.budget.depth}`);
    this.depth += 1;
    try {
      const checked = node ? this.checkedCall(node, environment) : undefined;
      const result = super.evaluate(checked ?? statement, environment);
      this.measure(result);
      return result;
    } finally {
      this.depth -= 1;
    }
  }

  /** A string or list past the size bound stops the render (checked as each is made). */
  private measure(result: Value): void {
    if (typeof result.value === 'string' && result.value.length > this.budget.chars)
      throw new BudgetExceeded(`a value of more than ${this.budget.chars} characters`);
    if (Array.isArray(result.value) && result.value.length > this.budget.items)
      throw new BudgetExceeded(`a value of more than ${this.budget.items} items`);
  }

  /**
   * `range(n)` makes its whole list at once, before anything could measure it: its arguments
   * are evaluated here, checked, and handed over evaluated (so nothing is evaluated twice).
   */
  private checkedCall(
    node: Node,
    environment: Environment,
  ): Parameters<Interpreter['evaluate']>[0] | undefined {
    if (node.type !== 'CallExpression' || node.callee?.type !== 'Identifier' || node.callee.value !== 'range')
      return undefined;
    const values = (node.args ?? []).map((arg) =>
      arg.type === 'KeywordArgumentExpression' || arg.type === 'SpreadExpression'
        ? arg
        : { type: EVALUATED, value: this.evaluate(arg, environment) },
    );
    const numbers = values.map((arg) => (arg.type === EVALUATED ? (arg.value as Value).value : undefined));
    if (numbers.every((value) => typeof value === 'number')) {
      const [first = 0, second, step = 1] = numbers as number[];
      const [start, stop] = second === undefined ? [0, first] : [first, second];
      const length = step === 0 ? 0 : Math.ceil((stop - start) / step);
      if (length > this.budget.items)
        throw new BudgetExceeded(`range() of more than ${this.budget.items} items`);
    }
    return { ...node, args: values };
  }
}

/** strftime_now as the library's: the few directives chat templates use. */
function strftimeNow(format: string): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return format.replace(/%[YmdbBHM%]/g, (token) => {
    switch (token) {
      case '%Y':
        return String(now.getFullYear());
      case '%m':
        return pad(now.getMonth() + 1);
      case '%d':
        return pad(now.getDate());
      case '%b':
        return new Intl.DateTimeFormat('en-US', { month: 'short' }).format(now);
      case '%B':
        return new Intl.DateTimeFormat('en-US', { month: 'long' }).format(now);
      case '%H':
        return pad(now.getHours());
      case '%M':
        return pad(now.getMinutes());
      default:
        return '%';
    }
  });
}

/**
 * A Jinja chat template (Hugging Face's dialect, @huggingface/jinja), parsed once and rendered
 * within a budget. Templates see only the values they are given, converted to the interpreter's
 * own values: JavaScript objects (`constructor`, `__proto__`, `process`) are out of reach.
 */
export class ChatTemplate {
  private constructor(private readonly template: jinja.Template) {}

  /** Parses `source`; a template that does not parse is refused (400) naming `what`. */
  static parse(source: string, what: string): ChatTemplate {
    try {
      return new ChatTemplate(new jinja.Template(source));
    } catch (error) {
      throw new VmmError(ErrorCode.InvalidArgument, `${what} does not parse: ${(error as Error).message}`, {
        field: 'template',
        cause: error,
      });
    }
  }

  /**
   * Renders with `items` as the template's variables. Past the budget: a 400 naming `what`;
   * any other failure (a template raising on messages it does not support) is thrown as it is.
   */
  render(
    items: Record<string, unknown>,
    what: string,
    budget: TemplateBudget = DEFAULT_TEMPLATE_BUDGET,
  ): string {
    const env = new Environment();
    // The globals the library's own render sets (setupGlobals), with `range` metered above.
    env.set('false', false);
    env.set('true', true);
    env.set('none', null);
    env.set('False', false);
    env.set('True', true);
    env.set('None', null);
    env.set('raise_exception', (message: unknown) => {
      throw new Error(String(message));
    });
    env.set('range', range);
    env.set('strftime_now', strftimeNow);
    for (const [key, value] of Object.entries(items)) env.set(key, value);
    try {
      const result = new MeteredInterpreter(env, budget).run(this.template.parsed);
      return String(result.value);
    } catch (error) {
      // Past the budget, or past V8's longest string or deepest stack on the way: the same.
      const exhausted =
        error instanceof BudgetExceeded ||
        (error instanceof RangeError && /string length|call stack|array length/i.test(error.message));
      if (exhausted)
        throw new VmmError(
          ErrorCode.InvalidArgument,
          `${what} ran past its budget (${(error as Error).message.toLowerCase()}): it cannot render this conversation`,
          { field: 'messages', cause: error },
        );
      throw error;
    }
  }
}

function range(start: number, stop?: number, step = 1): number[] {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0) throw new Error('range() step must not be zero');
  const result: number[] = [];
  if (step > 0) for (let i = from; i < to; i += step) result.push(i);
  else for (let i = from; i > to; i += step) result.push(i);
  return result;
}

/**
 * The trial runs where the model is being made (the worker's event loop), so it gets far less
 * than a chat: real templates render four messages in a few hundred steps, and a template that
 * needs more than this for them would be no use on a long chat either.
 */
const TRIAL_BUDGET: TemplateBudget = { steps: 20_000, depth: 256, chars: 256 * 1024, items: 10_000, ms: 250 };

/** A conversation of the usual shape, for trying a template out before a model is made. */
const SAMPLE_CONVERSATION = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Hello!' },
  { role: 'assistant', content: 'Hi! How can I help?' },
  { role: 'user', content: 'What is the weather in Paris?' },
];

/**
 * Checks a chat template before a model is made with it: it must parse (400 naming `what`), and
 * render a usual conversation within the budget (a template that loops or grows without end on
 * any input is refused here, not on the first chat). A template that raises on the sample
 * (its own rules about roles, say) passes: it may still serve the conversations it accepts.
 */
export function checkChatTemplate(source: string, what: string): void {
  const template = ChatTemplate.parse(source, what);
  try {
    template.render(
      { messages: SAMPLE_CONVERSATION, add_generation_prompt: true, bos_token: '<s>', eos_token: '</s>' },
      what,
      TRIAL_BUDGET,
    );
  } catch (error) {
    if (error instanceof VmmError)
      throw new VmmError(ErrorCode.InvalidArgument, `${error.message} (tried on a usual conversation)`, {
        field: 'template',
        cause: error,
      });
  }
}
