/** One sample of a Prometheus text exposition. */
export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusText {
  /** Metric family → its TYPE. */
  types: Map<string, string>;
  samples: PrometheusSample[];
  /** What `promtool check metrics` would reject or warn about; empty when clean. */
  problems: string[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** As Prometheus's parser (Go's ParseFloat): Inf and NaN in any case (prom-client writes `Nan`). */
function parseValue(text: string): number | undefined {
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return Number.NaN;
  const value = Number(text);
  return text.trim() === '' || Number.isNaN(value) ? undefined : value;
}

/** Reads `{a="x",b="y\"z"}`; undefined when it is not well formed. */
function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = /^([^=,{}"\s]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    if (!match) return undefined;
    const [whole, name = '', raw = ''] = match;
    if (Object.hasOwn(labels, name)) return undefined;
    labels[name] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

/** The family a sample belongs to: `x_bucket`, `x_sum`, `x_count` are histogram `x`'s. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count', '_created']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === 'histogram' || types.get(base) === 'summary') return base;
    }
  }
  return name;
}

/**
 * Parses Prometheus's text format (0.0.4) and checks what `promtool check metrics` checks:
 * well-formed names, labels and values; HELP and TYPE once per family, before its samples; no
 * repeated series; counters named `_total`, and nothing else; histograms with `le` buckets that grow, a `+Inf`
 * bucket equal to `_count`, and a `_sum`; base units (seconds, bytes), not milliseconds.
 */
export function parsePrometheusText(text: string): PrometheusText {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: PrometheusSample[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) !== '') problems.push('the exposition does not end with a newline');
  lines.forEach((line, index) => {
    const at = `line ${index + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!meta) return; // a plain comment
      const [, kind, name = '', rest = ''] = meta;
      if (!METRIC.test(name)) problems.push(`${at}: invalid metric name "${name}"`);
      if (kind === 'HELP') {
        if (helps.has(name)) problems.push(`${at}: second HELP for ${name}`);
        helps.add(name);
        if (rest.trim() === '') problems.push(`${at}: empty HELP for ${name}`);
      } else {
        if (types.has(name)) problems.push(`${at}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) problems.push(`${at}: unknown TYPE "${rest}" for ${name}`);
        if (samples.some((sample) => familyOf(sample.name, types) === name))
          problems.push(`${at}: TYPE for ${name} after its samples`);
        types.set(name, rest);
        if (rest === 'counter' && !name.endsWith('_total'))
          problems.push(`${name}: counter metrics should have "_total" suffix`);
        if (rest !== 'counter' && rest !== 'untyped' && name.endsWith('_total'))
          problems.push(`${name}: non-counter metrics should not have "_total" suffix`);
        if (/_(ms|milliseconds|microseconds|us|ns)(_|$)/.test(name))
          problems.push(`${name}: use base units (seconds), not a fraction of them`);
      }
      return;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!sample) {
      problems.push(`${at}: not a sample: ${line.slice(0, 80)}`);
      return;
    }
    const [, name = '', rawLabels = '', rawValue = ''] = sample;
    const labels = parseLabels(rawLabels);
    const value = parseValue(rawValue);
    if (!labels) problems.push(`${at}: malformed labels {${rawLabels.slice(0, 80)}}`);
    if (value === undefined) problems.push(`${at}: "${rawValue}" is not a number`);
    for (const label of Object.keys(labels ?? {}))
      if (!LABEL.test(label) || label.startsWith('__')) problems.push(`${at}: invalid label name "${label}"`);
    const family = familyOf(name, types);
    if (!types.has(family)) problems.push(`${at}: ${name} has no TYPE before it`);
    const key = `${name}${JSON.stringify(Object.entries(labels ?? {}).sort())}`;
    if (seen.has(key)) problems.push(`${at}: repeated series ${name}{${rawLabels}}`);
    seen.add(key);
    samples.push({ name, labels: labels ?? {}, value: value ?? Number.NaN });
  });
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
    for (const sample of samples) {
      if (familyOf(sample.name, types) !== family) continue;
      const { le, ...rest } = sample.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const entry = series.get(key) ?? { buckets: [] };
      series.set(key, entry);
      if (sample.name === `${family}_bucket`) {
        const bound = le === undefined ? undefined : parseValue(le);
        if (bound === undefined) problems.push(`${family}: a bucket without a numeric le`);
        else entry.buckets.push([bound, sample.value]);
      } else if (sample.name === `${family}_sum`) entry.sum = sample.value;
      else if (sample.name === `${family}_count`) entry.count = sample.value;
    }
    for (const [key, entry] of series) {
      const where = `${family}${key}`;
      const sorted = [...entry.buckets].sort((a, b) => a[0] - b[0]);
      if (sorted.at(-1)?.[0] !== Infinity) problems.push(`${where}: no +Inf bucket`);
      sorted.forEach(([, count], i) => {
        if (i > 0 && count < (sorted[i - 1]?.[1] ?? 0)) problems.push(`${where}: bucket counts decrease`);
      });
      if (entry.sum === undefined) problems.push(`${where}: no _sum`);
      if (entry.count === undefined) problems.push(`${where}: no _count`);
      else if (sorted.at(-1)?.[1] !== entry.count) problems.push(`${where}: +Inf bucket is not _count`);
    }
  }
  return { types, samples, problems };
}
