import { describe, expect, it } from '@jest/globals';
import { Template } from '@huggingface/jinja';
import { ErrorCode } from '@vmm/errors';
import { ChatTemplate } from './chat-template.js';

const messages = [
  { role: 'system', content: 'Be terse.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: 'Weather in Paris?' },
];
const tools = [
  {
    type: 'function',
    function: {
      name: 'weather',
      description: 'Now',
      parameters: { type: 'object', properties: { city: { type: 'string' } } },
    },
  },
];

/** Loops, macros, namespaces, filters, tests, slicing, tojson and strftime_now, as real templates use them. */
const realistic = `{%- set ns = namespace(system='', count=0) -%}
{%- macro header(role) -%}<|{{ role }}|>{%- endmacro -%}
{%- if messages[0]['role'] == 'system' -%}{%- set ns.system = messages[0]['content'] -%}{%- set rest = messages[1:] -%}{%- else -%}{%- set rest = messages -%}{%- endif -%}
{{ bos_token }}{{ header('system') }}Today is {{ strftime_now('%Y') | length }} digits. {{ ns.system | trim }}
{%- if tools is defined %}{% for tool in tools %}
{{ tool | tojson(indent=2) }}{% endfor %}{% endif %}
{%- for message in rest -%}
{%- set ns.count = ns.count + 1 -%}
{{ header(message.role) }}{{ message.content | upper if loop.last else message.content }}{{ ' #' ~ ns.count }}{{ eos_token if message.role == 'assistant' }}
{%- endfor -%}
{%- if add_generation_prompt %}{{ header('assistant') }}{% endif -%}
{{ range(3) | join(',') }}{{ (rest | length) is even }}{{ 'x' in 'xyz' }}{{ rest | map(attribute='role') | join('/') }}`;

const items = { messages, tools, add_generation_prompt: true, bos_token: '<s>', eos_token: '</s>' };

describe('ChatTemplate', () => {
  it('renders as the library does', () => {
    const ours = ChatTemplate.parse(realistic, 'the template').render(items, 'the template');
    expect(ours).toBe(new Template(realistic).render(items));
    expect(ours).toContain('"name": "weather"');
    expect(ours).toContain('WEATHER IN PARIS? #3');
  });

  it.each([
    ['include', '{% include "x" %}', /the template does not parse: .*include/],
    ['import', '{% import "x" as y %}', /does not parse: .*import/],
    ['extends', '{% extends "x" %}', /does not parse/],
    ['a syntax error', '{% for x in %}', /does not parse/],
    ['20 000 nested parentheses', `{{ ${'('.repeat(20000)}1${')'.repeat(20000)} }}`, /does not parse/],
  ])('refuses %s at parse time, naming the template', (_what, source, why) => {
    expect(() => ChatTemplate.parse(source, 'the template')).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidArgument,
        field: 'template',
        message: expect.stringMatching(why),
      }),
    );
  });

  it.each([
    ['a loop of a billion', '{% for i in range(1000000000) %}x{% endfor %}', /range\(\) of more than/],
    ['range(1e8)|join', '{{ range(100000000)|join(",") }}', /range\(\) of more than/],
    [
      'a negative-step range',
      '{% for i in range(0, -1000000000, -1) %}x{% endfor %}',
      /range\(\) of more than/,
    ],
    [
      'nested loops',
      '{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}',
      /more than 300000 steps/,
    ],
    [
      'string doubling',
      "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
      /a value of more than \d+ characters|string length/,
    ],
    [
      'list doubling',
      '{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}',
      /a value of more than \d+ items|array length/,
    ],
    [
      'a big value many times',
      '{% for i in range(2000) %}{{ messages[0].content }}{% endfor %}',
      /a value of more than/,
    ],
    [
      'deep nesting',
      `${'{% if true %}'.repeat(300)}x${'{% endif %}'.repeat(300)}`,
      /nesting deeper than 256/,
    ],
  ])('stops %s within its budget with a 400 naming the template', (_what, source, why) => {
    const template = ChatTemplate.parse(source, 'the template');
    const big = [{ role: 'user', content: 'y'.repeat(10_000) }];
    expect(() => template.render({ messages: big }, "tiny's chat template")).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidArgument,
        field: 'messages',
        message: expect.stringMatching(
          new RegExp(`tiny's chat template ran past its budget \\(.*(${why.source}|more than 2000 ms)`),
        ),
      }),
    );
  });

  it.each([
    '{{ messages.constructor }}',
    '{{ messages[0].constructor }}',
    "{{ ''.constructor }}",
    "{{ messages.__proto__ }}{{ messages['__proto__'] }}",
    '{{ range.constructor }}',
    '{{ process }}{{ globalThis }}{{ require }}',
    "{{ messages[0]['constructor']['constructor'] }}",
    '{{ raise_exception.constructor }}',
  ])('keeps JavaScript out of reach: %s', (source) => {
    let out: string;
    try {
      out = ChatTemplate.parse(source, 'the template').render({ messages }, 'the template');
    } catch (error) {
      // Refused is as good as inert, as long as it is the template's error, not a crash.
      out = (error as Error).message;
    }
    expect(out).not.toMatch(/function|native code|\[object|process|env/i);
  });
});
