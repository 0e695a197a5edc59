import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * A model name as Ollama spells them: `[host/][namespace/]model[:tag]`, `:latest` when no tag
 * is given, so `tiny-llama` and `tiny-llama:latest` are one model. Names keep their case (they
 * name folders on case-sensitive file systems); `huggingface.co/` is the same host as `hf.co/`.
 */
export interface ModelName {
  /** Everything before the tag: `tiny-llama`, `hf.co/org/repo`. */
  path: string;
  /** `latest` when none was given. */
  tag: string;
  /** `path:tag`: the one spelling VMM lists, loads and labels. */
  canonical: string;
  /** The path's segments (1 to 3). */
  segments: string[];
}

export const DEFAULT_TAG = 'latest';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function invalid(name: string, why: string): VmmError {
  return new VmmError(ErrorCode.InvalidArgument, `invalid model name "${name.slice(0, 200)}": ${why}`, {
    field: 'model',
  });
}

/** Parses and validates a model name; nothing in it can climb out of the models directory. */
export function parseModelName(name: unknown): ModelName {
  if (typeof name !== 'string' || name.length === 0) {
    throw new VmmError(ErrorCode.InvalidArgument, 'model name is required', { field: 'model' });
  }
  if (name.length > 300) throw invalid(name, 'longer than 300 characters');
  const colon = name.lastIndexOf(':');
  // A colon before the last slash would be a port in a host, which VMM's names never carry.
  const hasTag = colon > name.lastIndexOf('/');
  const rawPath = hasTag ? name.slice(0, colon) : name;
  const tag = hasTag ? name.slice(colon + 1) : DEFAULT_TAG;
  const segments = rawPath.split('/');
  if (segments.length > 1 && /^(hf|huggingface)\.co$/i.test(segments[0] ?? '')) segments[0] = 'hf.co';
  if (segments.length > 3) throw invalid(name, 'at most host/namespace/model');
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment.includes('..'))
      throw invalid(name, 'use letters, digits, ".", "_", "-", "/" between parts and an optional ":tag"');
  }
  if (!TAG.test(tag)) throw invalid(name, 'a tag is letters, digits, ".", "_" and "-"');
  const path = segments.join('/');
  return { path, tag, canonical: `${path}:${tag}`, segments };
}

/** `tiny-llama` → `tiny-llama:latest`; throws InvalidArgument on a bad name. */
export function canonicalModelName(name: string): string {
  return parseModelName(name).canonical;
}

/** The canonical spelling, or undefined for a name that is not valid (lookups then miss). */
export function tryCanonicalModelName(name: string): string | undefined {
  try {
    return parseModelName(name).canonical;
  } catch {
    return undefined;
  }
}

/** A Hugging Face Hub reference: `hf.co/ORG/REPO[:variant]`. */
export interface HubReference {
  /** `ORG/REPO`. */
  repo: string;
  /** The ONNX variant asked for (`q4`, `fp16`, ...); undefined for `latest`. */
  variant: string | undefined;
  name: ModelName;
}

/** The Hub repository a name points at, or undefined when it is not an `hf.co/` name. */
export function hubReference(name: string): HubReference | undefined {
  const parsed = parseModelName(name);
  if (parsed.segments[0] !== 'hf.co' || parsed.segments.length !== 3) return undefined;
  const repo = parsed.segments.slice(1).join('/');
  return { repo, variant: parsed.tag === DEFAULT_TAG ? undefined : parsed.tag, name: parsed };
}
