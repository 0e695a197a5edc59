/** A small SVG line chart: one or more series over x, no chart library needed for this. */
export interface Series {
  name: string;
  colour: string;
  points: { x: number; y: number | undefined }[];
}

export function LineChart({
  title,
  series,
  unit,
  xLabel,
  height = 160,
}: {
  title: string;
  series: Series[];
  unit: string;
  xLabel?: (x: number) => string;
  height?: number;
}) {
  const width = 480;
  const pad = { left: 44, right: 8, top: 8, bottom: 22 };
  const all = series.flatMap((s) => s.points.filter((p) => p.y !== undefined)) as { x: number; y: number }[];
  const xs = all.map((p) => p.x);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const maxY = Math.max(1e-9, ...all.map((p) => p.y)) * 1.1;
  const sx = (x: number) =>
    pad.left + ((x - minX) / Math.max(1e-9, maxX - minX)) * (width - pad.left - pad.right);
  const sy = (y: number) => height - pad.bottom - (y / maxY) * (height - pad.top - pad.bottom);
  const last = series.map((s) => [...s.points].reverse().find((p) => p.y !== undefined)?.y);
  return (
    <figure className="chart">
      <figcaption>
        {title}
        {series.map((s, i) => (
          <span key={s.name} className="legend">
            <span className="swatch" style={{ background: s.colour }} /> {s.name}
            {last[i] !== undefined ? `: ${formatValue(last[i])} ${unit}` : ''}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        <line x1={pad.left} x2={width - pad.right} y1={sy(0)} y2={sy(0)} className="axis" />
        <text x={pad.left - 4} y={sy(maxY / 1.1) + 4} className="tick" textAnchor="end">
          {formatValue(maxY / 1.1)}
        </text>
        <text x={pad.left - 4} y={sy(0) + 4} className="tick" textAnchor="end">
          0
        </text>
        {all.length > 0 && xLabel && (
          <>
            <text x={pad.left} y={height - 6} className="tick">
              {xLabel(minX)}
            </text>
            <text x={width - pad.right} y={height - 6} className="tick" textAnchor="end">
              {xLabel(maxX)}
            </text>
          </>
        )}
        {series.map((s) => (
          <polyline
            key={s.name}
            fill="none"
            stroke={s.colour}
            strokeWidth={2}
            points={s.points
              .filter((p) => p.y !== undefined)
              .map((p) => `${sx(p.x).toFixed(1)},${sy(p.y as number).toFixed(1)}`)
              .join(' ')}
          />
        ))}
        {all.length === 0 && (
          <text x={width / 2} y={height / 2} textAnchor="middle" className="tick">
            no data yet
          </text>
        )}
      </svg>
    </figure>
  );
}

const formatValue = (value: number) =>
  value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
