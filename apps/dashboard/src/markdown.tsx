import type { ReactNode } from 'react';

/**
 * Enough Markdown for docs/benchmarks.md: headings, paragraphs, lists, fenced code and pipe
 * tables, with `code` and **bold** inline. Everything is rendered as React text, never as HTML.
 */
export function Markdown({ source }: { source: string }) {
  const blocks: ReactNode[] = [];
  const lines = source.split('\n');
  let i = 0;
  const key = () => blocks.length;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (line.startsWith('```')) {
      const code: string[] = [];
      for (i += 1; i < lines.length && !(lines[i] ?? '').startsWith('```'); i += 1) code.push(lines[i] ?? '');
      i += 1;
      blocks.push(<pre key={key()}>{code.join('\n')}</pre>);
    } else if (/^#{1,6} /.test(line)) {
      const level = Math.min(6, (line.match(/^#+/)?.[0].length ?? 1) + 1);
      const Tag = `h${level}` as 'h2';
      blocks.push(<Tag key={key()}>{inline(line.replace(/^#+ /, ''))}</Tag>);
      i += 1;
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && (lines[i] ?? '').startsWith('|'); i += 1) {
        const cells = (lines[i] ?? '')
          .replace(/^\||\|$/g, '')
          .split('|')
          .map((cell) => cell.trim());
        if (!cells.every((cell) => /^:?-+:?$/.test(cell))) rows.push(cells);
      }
      const [head = [], ...body] = rows;
      blocks.push(
        <div className="table-wrap" key={key()}>
          <table>
            <thead>
              <tr>
                {head.map((cell, c) => (
                  <th key={c} scope="col">
                    {inline(cell)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {body.map((row, r) => (
                <tr key={r}>
                  {row.map((cell, c) => (
                    <td key={c}>{inline(cell)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>,
      );
    } else if (/^\s*[-*] /.test(line)) {
      const items: string[] = [];
      for (; i < lines.length && /^\s*([-*] |\s{2,}\S)/.test(lines[i] ?? ''); i += 1) {
        const item = lines[i] ?? '';
        if (/^\s*[-*] /.test(item)) items.push(item.replace(/^\s*[-*] /, ''));
        else items[items.length - 1] += ` ${item.trim()}`;
      }
      blocks.push(
        <ul key={key()}>
          {items.map((item, n) => (
            <li key={n}>{inline(item)}</li>
          ))}
        </ul>,
      );
    } else if (line.trim() === '') {
      i += 1;
    } else {
      const text: string[] = [];
      for (
        ;
        i < lines.length && (lines[i] ?? '').trim() !== '' && !/^(#|```|\||\s*[-*] )/.test(lines[i] ?? '');
        i += 1
      )
        text.push(lines[i] ?? '');
      blocks.push(<p key={key()}>{inline(text.join(' '))}</p>);
    }
  }
  return <div className="markdown">{blocks}</div>;
}

function inline(text: string): ReactNode[] {
  return text
    .split(/(`[^`]+`|\*\*[^*]+\*\*)/)
    .map((part, i) =>
      part.startsWith('`') && part.endsWith('`') && part.length > 1 ? (
        <code key={i}>{part.slice(1, -1)}</code>
      ) : part.startsWith('**') && part.endsWith('**') && part.length > 3 ? (
        <strong key={i}>{part.slice(2, -2)}</strong>
      ) : (
        part
      ),
    );
}
