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
  let hash = 0;
  for (const char of label) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return `hsl(${hash % 360} 90% 55%)`;
}
