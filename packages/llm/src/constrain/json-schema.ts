import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * A JSON Schema compiled to what the byte matcher walks. Nodes may reference themselves
 * (recursive `$ref`s, `any`), so they form a graph, not a tree.
 */
export type SchemaNode =
  | { kind: 'any' }
  | ObjectNode
  | {
      kind: 'array';
      prefix: SchemaNode[];
      /** Items after `prefix`; undefined: none allowed. */
      items: SchemaNode | undefined;
      minItems: number;
      maxItems: number;
    }
  | { kind: 'string'; minLength: number; maxLength: number }
  /** Integers in [min, max] when `integer`; other numbers are unbounded. */
  | { kind: 'number'; integer: boolean; min: number | undefined; max: number | undefined }
  /** Exact JSON texts: const, enum, true/false, null. */
  | { kind: 'literal'; values: Uint8Array[] }
  | { kind: 'union'; options: SchemaNode[] };

export interface ObjectProperty {
  name: string;
  /** `"name"` as JSON writes it. */
  key: Uint8Array;
  node: SchemaNode;
  required: boolean;
}

export interface ObjectNode {
  kind: 'object';
  /** Written in this order; optional ones may be skipped. */
  properties: ObjectProperty[];
  /** Values of free keys, allowed only when no properties are declared. */
  additional: SchemaNode | undefined;
}

const encoder = new TextEncoder();
export const jsonBytes = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

export const ANY: SchemaNode = { kind: 'any' };
/** Ollama's `format: "json"`, OpenAI's `json_object`: any object. */
export const ANY_OBJECT: SchemaNode = { kind: 'object', properties: [], additional: ANY };

/** Keywords that describe and do not constrain. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$comment',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$defs',
  'definitions',
  'strict',
]);

/** Keywords the compiler honours; anything else is refused by name. */
const HONOURED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  '$ref',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'nullable',
]);

/** Strings and arrays without a maximum are bounded by the token budget, not by the schema. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;
const MAX_SCHEMA_NODES = 10_000;
const MAX_SCHEMA_DEPTH = 64;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function refuse(message: string, path: string): never {
  throw new VmmError(ErrorCode.InvalidArgument, `format: ${message} (at ${path || '/'})`, {
    field: 'format',
  });
}

/**
 * Compiles a JSON Schema (draft 2020-12 / OpenAI structured outputs subset) to a SchemaNode.
 * Unsupported keywords are refused naming them, never ignored: an ignored keyword would let
 * the output break the schema.
 */
export function compileSchema(schema: unknown): SchemaNode {
  if (!isObject(schema) && typeof schema !== 'boolean') refuse('the schema must be an object', '');
  // `#…` refs resolve against the nearest enclosing schema resource: the root, or a subschema
  // with its own `$id` (a tool's parameters embedded in the tool-call schema, say).
  const refs = new Map<object | boolean, Map<string, SchemaNode>>();
  let resource: object | boolean = schema;
  let nodes = 0;
  // Where each array and string node came from, to name the keyword that makes a value too long.
  const sized = new Map<SchemaNode, { keyword: string; path: string }>();

  const resolveRef = (ref: string, path: string): SchemaNode => {
    const scope = resource;
    let known = refs.get(scope);
    if (!known) refs.set(scope, (known = new Map()));
    const existing = known.get(ref);
    if (existing) return existing;
    if (!ref.startsWith('#')) refuse(`only local $ref are supported, not "${ref}"`, path);
    let target: unknown = scope;
    for (const part of ref.slice(1).split('/').filter(Boolean)) {
      const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~');
      target = isObject(target) ? target[key] : undefined;
    }
    if (target === undefined) refuse(`$ref "${ref}" points nowhere`, path);
    // A placeholder first, so a recursive definition refers to itself instead of looping.
    const placeholder = { kind: 'union', options: [] } as { kind: 'union'; options: SchemaNode[] };
    known.set(ref, placeholder);
    placeholder.options = [compile(target, ref)];
    // A definition that is one of its own alternatives before any byte is written (`a: anyOf
    // [$ref a, null]`) would send the matcher round in circles: refused.
    if (reachesByUnions(placeholder.options, placeholder))
      refuse(`$ref "${ref}" refers to itself before any value is written (left recursion)`, path);
    return placeholder;
  };

  // Nesting is bounded too: compiling, and the matcher's completions, recurse along it.
  let depth = 0;
  const compile = (value: unknown, path: string): SchemaNode => {
    depth += 1;
    const outer = resource;
    try {
      if (depth > MAX_SCHEMA_DEPTH) refuse(`the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`, path);
      if (isObject(value) && typeof value.$id === 'string') resource = value;
      return compileNode(value, path);
    } finally {
      resource = outer;
      depth -= 1;
    }
  };

  const compileNode = (value: unknown, path: string): SchemaNode => {
    nodes += 1;
    if (nodes > MAX_SCHEMA_NODES) refuse(`the schema has more than ${MAX_SCHEMA_NODES} nodes`, path);
    if (value === true) return ANY;
    if (value === false) refuse('a false schema allows nothing', path);
    if (!isObject(value)) return refuse('a schema must be an object or a boolean', path);
    const unsupported = Object.keys(value).filter((key) => !HONOURED.has(key) && !ANNOTATIONS.has(key));
    if (unsupported.length > 0) {
      refuse(`unsupported keyword${unsupported.length > 1 ? 's' : ''} ${unsupported.join(', ')}`, path);
    }
    if (value.$ref !== undefined) {
      if (typeof value.$ref !== 'string') refuse('$ref must be a string', path);
      const others = Object.keys(value).filter((key) => key !== '$ref' && !ANNOTATIONS.has(key));
      if (others.length > 0) refuse(`$ref alongside ${others.join(', ')} is not supported`, path);
      return resolveRef(value.$ref, path);
    }
    if (value.allOf !== undefined) {
      const parts = value.allOf;
      if (!Array.isArray(parts) || parts.length !== 1) {
        refuse('allOf is supported with exactly one schema', path);
      }
      const others = Object.keys(value).filter((key) => key !== 'allOf' && !ANNOTATIONS.has(key));
      if (others.length > 0) refuse(`allOf alongside ${others.join(', ')} is not supported`, path);
      return compile(parts[0], `${path}/allOf/0`);
    }
    for (const keyword of ['anyOf', 'oneOf'] as const) {
      const parts = value[keyword];
      if (parts === undefined) continue;
      if (!Array.isArray(parts) || parts.length === 0) refuse(`${keyword} must be a non-empty list`, path);
      const others = Object.keys(value).filter((key) => key !== keyword && !ANNOTATIONS.has(key));
      if (others.length > 0) refuse(`${keyword} alongside ${others.join(', ')} is not supported`, path);
      return union(parts.map((part, i) => compile(part, `${path}/${keyword}/${i}`)));
    }
    if (value.const !== undefined) return { kind: 'literal', values: [jsonBytes(value.const)] };
    if (value.enum !== undefined) {
      if (!Array.isArray(value.enum) || value.enum.length === 0)
        refuse('enum must be a non-empty list', path);
      return { kind: 'literal', values: value.enum.map((entry) => jsonBytes(entry)) };
    }
    let types: string[];
    if (value.type === undefined) types = inferTypes(value);
    else if (typeof value.type === 'string') types = [value.type];
    else if (Array.isArray(value.type) && value.type.every((t) => typeof t === 'string'))
      types = value.type as string[];
    else return refuse('type must be a string or a list of strings', path);
    if (value.nullable === true && !types.includes('null')) types = [...types, 'null'];
    if (types.length === 0) return ANY;
    return union(types.map((type) => compileType(type, value, path)));
  };

  const compileType = (type: string, value: Json, path: string): SchemaNode => {
    switch (type) {
      case 'object':
        return compileObject(value, path);
      case 'array': {
        const prefix = value.prefixItems;
        if (prefix !== undefined && !Array.isArray(prefix)) refuse('prefixItems must be a list', path);
        const prefixNodes = (prefix ?? []).map((item, i) => compile(item, `${path}/prefixItems/${i}`));
        const items = value.items === false ? undefined : compile(value.items ?? true, `${path}/items`);
        const minItems = count(value.minItems, 0, 'minItems', path);
        const maxItems = count(value.maxItems, items ? UNBOUNDED : prefixNodes.length, 'maxItems', path);
        if (minItems > maxItems) refuse('minItems is above maxItems', path);
        if (!items && minItems > prefixNodes.length) refuse('minItems needs more items than allowed', path);
        const node: SchemaNode = { kind: 'array', prefix: prefixNodes, items, minItems, maxItems };
        sized.set(node, { keyword: 'minItems', path });
        return node;
      }
      case 'string': {
        const minLength = count(value.minLength, 0, 'minLength', path);
        const maxLength = count(value.maxLength, UNBOUNDED, 'maxLength', path);
        if (minLength > maxLength) refuse('minLength is above maxLength', path);
        const node: SchemaNode = { kind: 'string', minLength, maxLength };
        sized.set(node, { keyword: 'minLength', path });
        return node;
      }
      case 'integer':
      case 'number':
        return compileNumber(type === 'integer', value, path);
      case 'boolean':
        return { kind: 'literal', values: [jsonBytes(true), jsonBytes(false)] };
      case 'null':
        return { kind: 'literal', values: [jsonBytes(null)] };
      default:
        return refuse(`unknown type "${type}"`, path);
    }
  };

  const compileObject = (value: Json, path: string): SchemaNode => {
    const properties = value.properties ?? {};
    if (!isObject(properties)) refuse('properties must be an object', path);
    const required = value.required ?? [];
    if (!Array.isArray(required) || !required.every((name) => typeof name === 'string'))
      refuse('required must be a list of names', path);
    const missing = required.filter((name) => !(name in properties));
    const additional = value.additionalProperties;
    if (missing.length > 0 && additional === false)
      refuse(`required ${missing.join(', ')} not among the properties`, path);
    const names = Object.keys(properties);
    if (names.length === 0) {
      return {
        kind: 'object',
        properties: [],
        additional:
          additional === false ? undefined : compile(additional ?? true, `${path}/additionalProperties`),
      };
    }
    if (missing.length > 0)
      refuse(`required ${missing.join(', ')} not among the properties is not supported`, path);
    if (additional !== undefined && additional !== false && additional !== true) {
      // Still validated, never generated: the declared properties are all the output holds.
      compile(additional, `${path}/additionalProperties`);
    }
    return {
      kind: 'object',
      properties: names.map((name) => ({
        name,
        key: jsonBytes(name),
        node: compile(properties[name], `${path}/properties/${name}`),
        required: required.includes(name),
      })),
      additional: undefined,
    };
  };

  const compileNumber = (integer: boolean, value: Json, path: string): SchemaNode => {
    const bound = (key: string): number | undefined => {
      const v = value[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) return refuse(`${key} must be a number`, path);
      return v;
    };
    let min = bound('minimum');
    let max = bound('maximum');
    const exclusiveMin = bound('exclusiveMinimum');
    const exclusiveMax = bound('exclusiveMaximum');
    if (min === undefined && max === undefined && exclusiveMin === undefined && exclusiveMax === undefined)
      return { kind: 'number', integer, min: undefined, max: undefined };
    // Bounded numbers are written as integers in the range: every integer is a valid number,
    // and the digits of an integer can be checked against a range as they are written.
    if (min !== undefined) min = Math.ceil(min);
    if (exclusiveMin !== undefined) min = Math.max(min ?? -Infinity, Math.floor(exclusiveMin) + 1);
    if (max !== undefined) max = Math.floor(max);
    if (exclusiveMax !== undefined) max = Math.min(max ?? Infinity, Math.ceil(exclusiveMax) - 1);
    const limit = Number.MAX_SAFE_INTEGER;
    min = min === undefined ? undefined : Math.max(min, -limit);
    max = max === undefined ? undefined : Math.min(max, limit);
    if (min !== undefined && max !== undefined && min > max)
      refuse(
        integer
          ? 'no integer lies in the range'
          : 'the range holds no integer, which bounded numbers are written as',
        path,
      );
    return { kind: 'number', integer: true, min, max };
  };

  const compiled = compile(schema, '');
  // Checked once every definition is complete (a `$ref` may be used before its definition is).
  const sizes = minimalSizes(compiled);
  let culprit: { keyword: string; path: string } | undefined;
  for (const [node, where] of sized)
    if ((sizes.get(node) ?? 0) > MAX_MINIMAL_BYTES && (!culprit || where.path.length > culprit.path.length))
      culprit = where;
  if (culprit)
    refuse(
      `${culprit.keyword} makes the shortest allowed value longer than ${MAX_MINIMAL_BYTES} bytes`,
      culprit.path,
    );
  return compiled;
}

/**
 * The shortest value a schema allows must fit in an answer: no model writes a megabyte of JSON
 * in one reply, and the matcher builds that value whole when it completes an output. Checked
 * before any work, so `minItems: 1e9` (nested or not) is a 400, not gigabytes of "[0,0,…]".
 */
const MAX_MINIMAL_BYTES = 1024 * 1024;

/**
 * The bytes of the shortest value each node reachable from `root` allows (Infinity when none):
 * the least fixpoint of the size equations, since `$ref`s make the graph cyclic. Sizes only
 * fall from Infinity, children are visited before parents, and a few passes settle it.
 */
export function minimalSizes(root: SchemaNode): Map<SchemaNode, number> {
  const order: SchemaNode[] = [];
  const seen = new Set<SchemaNode>([root]);
  const stack: { node: SchemaNode; expanded: boolean }[] = [{ node: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop() as { node: SchemaNode; expanded: boolean };
    if (top.expanded) {
      order.push(top.node);
      continue;
    }
    stack.push({ node: top.node, expanded: true });
    for (const child of childrenOf(top.node))
      if (!seen.has(child)) {
        seen.add(child);
        stack.push({ node: child, expanded: false });
      }
  }
  const sizes = new Map<SchemaNode, number>(order.map((node) => [node, Infinity]));
  const size = (node: SchemaNode) => sizes.get(node) ?? Infinity;
  for (let pass = 0, changed = true; changed && pass <= order.length; pass += 1) {
    changed = false;
    for (const node of order) {
      const bytes = sizeFrom(node, size);
      if (bytes < size(node)) {
        sizes.set(node, bytes);
        changed = true;
      }
    }
  }
  return sizes;
}

function childrenOf(node: SchemaNode): SchemaNode[] {
  switch (node.kind) {
    case 'object':
      return [...node.properties.map((prop) => prop.node), ...(node.additional ? [node.additional] : [])];
    case 'array':
      return [...node.prefix, ...(node.items ? [node.items] : [])];
    case 'union':
      return node.options;
    default:
      return [];
  }
}

function sizeFrom(node: SchemaNode, size: (node: SchemaNode) => number): number {
  switch (node.kind) {
    case 'any':
    case 'number':
      return 1;
    case 'string':
      return 2 + node.minLength;
    case 'literal': {
      let shortest = Infinity;
      for (const value of node.values) shortest = Math.min(shortest, value.length);
      return shortest;
    }
    case 'object': {
      let bytes = 2;
      for (const prop of node.properties) if (prop.required) bytes += prop.key.length + 2 + size(prop.node);
      return bytes;
    }
    case 'array': {
      let bytes = 2 + Math.max(0, node.minItems - 1);
      for (let i = 0; i < Math.min(node.minItems, node.prefix.length); i += 1)
        bytes += size(node.prefix[i] as SchemaNode);
      const rest = node.minItems - node.prefix.length;
      if (rest > 0) bytes += node.items ? rest * size(node.items) : Infinity;
      return bytes;
    }
    case 'union': {
      let shortest = Infinity;
      for (const option of node.options) shortest = Math.min(shortest, size(option));
      return shortest;
    }
  }
}

/** Whether `target` is among `options` or their union alternatives, before any byte is written. */
function reachesByUnions(options: readonly SchemaNode[], target: SchemaNode): boolean {
  const seen = new Set<SchemaNode>();
  const stack = [...options];
  while (stack.length > 0) {
    const node = stack.pop() as SchemaNode;
    if (node === target) return true;
    if (node.kind !== 'union' || seen.has(node)) continue;
    seen.add(node);
    stack.push(...node.options);
  }
  return false;
}

function union(options: SchemaNode[]): SchemaNode {
  return options.length === 1 ? (options[0] as SchemaNode) : { kind: 'union', options };
}

/** A schema without `type` takes its type from its keywords, or allows anything. */
function inferTypes(value: Json): string[] {
  if (
    value.properties !== undefined ||
    value.required !== undefined ||
    value.additionalProperties !== undefined
  )
    return ['object'];
  if (
    value.items !== undefined ||
    value.prefixItems !== undefined ||
    value.minItems !== undefined ||
    value.maxItems !== undefined
  )
    return ['array'];
  if (value.minLength !== undefined || value.maxLength !== undefined) return ['string'];
  if (
    value.minimum !== undefined ||
    value.maximum !== undefined ||
    value.exclusiveMinimum !== undefined ||
    value.exclusiveMaximum !== undefined
  )
    return ['number'];
  return [];
}

function count(value: unknown, fallback: number, key: string, path: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    refuse(`${key} must be a non-negative integer`, path);
  return value;
}
