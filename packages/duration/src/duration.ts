import { ErrorCode, VmmError } from '@vmm/errors';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Ollama's keep_alive durations: "5m", "30s", "1h30m", "250ms", a bare number of seconds
 * ("300"), "0" (unload after the request) or any negative value (keep forever). Returns ms.
 */
export function parseDuration(text: string, field = 'keep_alive'): number {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const negative = trimmed.startsWith('-');
  const body = negative ? trimmed.slice(1) : trimmed;
  const parts = [...body.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (body.length === 0 || parts.map((part) => part[0]).join('') !== body) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `${field} must be a duration like "5m", "30s" or "-1", got "${text}"`,
      {
        field,
      },
    );
  }
  const ms = parts.reduce((sum, part) => sum + Number(part[1]) * (UNITS[part[2] as string] ?? 0), 0);
  return negative ? -Math.round(ms) : Math.round(ms);
}

/** A wait that must end (a timeout): a duration above zero, in ms; "never" is no bound. */
export function parsePositiveDuration(text: string, field: string): number {
  const ms = parseDuration(text, field);
  if (ms <= 0)
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `${field} must be a duration above zero, like "30s"; got "${text}"`,
      {
        field,
      },
    );
  return ms;
}
