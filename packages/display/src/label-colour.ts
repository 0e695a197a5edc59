/** The demo detector's colour names, drawn in their own colour (bright enough for black text). */
const named: Readonly<Record<string, string>> = {
  red: '#ff3b30',
  green: '#34c759',
  blue: '#0a84ff',
  yellow: '#ffd60a',
  magenta: '#ff2dff',
  cyan: '#32d4ff',
  white: '#ffffff',
};

/**
 * The colour boxes of a label are drawn in (a CSS colour, for SVG and canvas alike): the same
 * label gets the same colour in the CLI's images and on the dashboard, run after run.
 */
export function labelColour(label: string): string {
  const colour = named[label];
  if (colour) return colour;
  return `hsl(${labelHue(label)} 90% 55%)`;
}

function labelHue(label: string): number {
  let hash = 0;
  for (const char of label) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

/** labelColour as red, green and blue bytes (for pixels: a mask's layer). */
export function labelRgb(label: string): [number, number, number] {
  const hex = named[label];
  if (hex)
    return [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)) as [number, number, number];
  // CSS's hsl() to RGB at saturation 90 %, lightness 55 %.
  const [s, l] = [0.9, 0.55];
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number) => {
    const k = (n + labelHue(label) / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [channel(0), channel(8), channel(4)];
}
