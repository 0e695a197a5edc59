// Twenty schemas for the constrained-decoding tests and benchmark: the shapes structured-output
// users send (zod / pydantic exports, OpenAI strict schemas, tool parameters).
export const SCHEMAS: readonly Record<string, unknown>[] = [
  { type: 'object' },
  {
    type: 'object',
    properties: { answer: { type: 'string' } },
    required: ['answer'],
    additionalProperties: false,
  },
  {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0, maximum: 150 } },
    required: ['name', 'age'],
  },
  {
    type: 'object',
    properties: { ok: { type: 'boolean' }, note: { type: ['string', 'null'] } },
    required: ['ok', 'note'],
  },
  { type: 'object', properties: { colour: { enum: ['red', 'green', 'blue'] } }, required: ['colour'] },
  {
    type: 'object',
    properties: {
      tags: { type: 'array', items: { type: 'string', maxLength: 12 }, minItems: 1, maxItems: 4 },
    },
    required: ['tags'],
  },
  {
    type: 'object',
    properties: { score: { type: 'number' }, unit: { const: 'kg' } },
    required: ['score', 'unit'],
  },
  {
    type: 'object',
    properties: {
      location: { type: 'string', description: 'City and country' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    },
    required: ['location'],
  },
  {
    type: 'object',
    properties: {
      people: {
        type: 'array',
        items: {
          type: 'object',
          properties: { first: { type: 'string', minLength: 1 }, last: { type: 'string' } },
          required: ['first', 'last'],
          additionalProperties: false,
        },
        maxItems: 3,
      },
    },
    required: ['people'],
    additionalProperties: false,
  },
  { type: 'array', items: { type: 'integer' }, maxItems: 5 },
  { type: 'string', minLength: 3, maxLength: 20 },
  { enum: ['yes', 'no', 42, null, true] },
  {
    type: 'object',
    properties: {
      a: {
        type: 'object',
        properties: { b: { type: 'object', properties: { c: { type: 'integer' } }, required: ['c'] } },
        required: ['b'],
      },
    },
    required: ['a'],
  },
  {
    $defs: {
      step: {
        type: 'object',
        properties: { explanation: { type: 'string' }, output: { type: 'string' } },
        required: ['explanation', 'output'],
        additionalProperties: false,
      },
    },
    type: 'object',
    properties: {
      steps: { type: 'array', items: { $ref: '#/$defs/step' } },
      final_answer: { type: 'string' },
    },
    required: ['steps', 'final_answer'],
    additionalProperties: false,
  },
  {
    anyOf: [
      {
        type: 'object',
        properties: { kind: { const: 'circle' }, r: { type: 'number' } },
        required: ['kind', 'r'],
      },
      {
        type: 'object',
        properties: { kind: { const: 'square' }, side: { type: 'integer', minimum: 1 } },
        required: ['kind', 'side'],
      },
    ],
  },
  {
    type: 'object',
    properties: {
      when: { type: 'integer', minimum: 1900, maximum: 2100 },
      temp: { type: 'number', minimum: -40, maximum: 50 },
    },
    required: ['when', 'temp'],
  },
  { type: 'object', additionalProperties: { type: 'integer' } },
  {
    type: 'array',
    prefixItems: [{ type: 'string' }, { type: 'integer' }, { type: 'boolean' }],
    items: false,
    minItems: 3,
  },
  {
    $defs: {
      node: {
        type: 'object',
        properties: {
          value: { type: 'integer' },
          children: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 },
        },
        required: ['value'],
      },
    },
    $ref: '#/$defs/node',
  },
  {
    type: 'object',
    properties: {
      title: { type: 'string', minLength: 5, maxLength: 8 },
      done: { type: 'boolean' },
      priority: { enum: [1, 2, 3] },
    },
    required: ['title', 'done', 'priority'],
    additionalProperties: false,
  },
];
