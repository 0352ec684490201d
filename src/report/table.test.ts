import { describe, expect, it } from 'vitest';
import { parseCsv, csvTable } from './csv.js';
import { PLAIN_ROWS, fitWidths, plainTable, shortRef, textTable, wrap } from './table.js';

describe('default tables fit the terminal', () => {
  const rows = [
    ['docker-archive:/tmp/kensus-demo-abc/oracle-database--ee-19c.docker.tar', 'Oracle Database', 'Enterprise Edition', '19.3.0.0.0'],
    ['registry:quay.io/mongodb/mongodb-enterprise-server:7.0.2-ubi8', 'MongoDB Enterprise Server', '-', '7.0.2'],
  ];
  for (const width of [40, 60, 80, 100]) {
    it(`no line wider than ${width}; cut cells end in …`, () => {
      const text = textTable(['IMAGE', 'PRODUCT', 'EDITION', 'VERSION'], rows, width);
      for (const line of text.trimEnd().split('\n')) expect([...line].length, line).toBeLessThanOrEqual(width);
      expect(text).toContain('…');
      expect(text.split('\n')[0]).toMatch(/^IMAGE\s+PRODUCT\s+EDITION\s+VERSION$/);
    });
  }
  it('without a width nothing is cut (not a terminal, as kubectl)', () => {
    const text = textTable(['IMAGE', 'PRODUCT'], rows.map((r) => r.slice(0, 2)));
    expect(text).toContain(rows[0][0]);
    expect(text).not.toContain('…');
  });
  it('takes room from the widest columns first and keeps headers whole', () => {
    expect(fitWidths([50, 10, 10], [6, 6, 6], 60)).toEqual([36, 10, 10]);
    expect(fitWidths([30, 30, 10], [6, 6, 6], 50)).toEqual([18, 18, 10]);
    // Narrower than the headers allow: every column at its minimum, nothing below.
    expect(fitWidths([30, 30], [6, 8], 5)).toEqual([6, 8]);
  });
  it('shortens archive paths to their file name and long names to their tail', () => {
    expect(shortRef('docker-archive:/tmp/kensus-demo-abc/x/oracle-database--ee-19c.docker.tar')).toBe('…/oracle-database--ee-19c.docker.tar');
    expect(shortRef('registry:r.example.com/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/app:1.0')).toMatch(/^….{47}$/);
    expect(shortRef('docker:nginx:1.25')).toBe('docker:nginx:1.25');
  });
  it('wraps notes to the width, indenting continuation lines', () => {
    const text = wrap('[1] IBM container licensing: charged containers CPU limits, capped per node, summed across the cluster', 40, '    ');
    for (const l of text.trimEnd().split('\n')) expect(l.length).toBeLessThanOrEqual(40);
    expect(text.split('\n')[1]).toMatch(/^ {4}\S/);
  });
});

describe('large tables: plain aligned columns written as they come', () => {
  // Cells as reports hold them: names, empty cells, single-width non-ASCII, a line break.
  const words = ['team-007/api-5d8f9c7b6d-x2x7q/api', 'IBM MQ Advanced', '', '-', 'Oracle Database®', 'Édition', '9.4.0.5', 'node-0042', 'a very long error message that goes past any terminal width, as registries print them', 'two\nlines', '…/x.docker.tar'];
  const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => [0, 1, 2].map((k) => words[(i * 7 + k * 3 + (i >> 2)) % words.length]));
  const header = ['CONTAINER', 'PRODUCT', 'VERSION'];

  for (const width of [undefined, 30, 50, 80, 200]) {
    it(`look exactly as cli-table3's tables do (width ${width ?? 'unlimited'})`, () => {
      const rows = rowsOf(60);
      expect([...plainTable(header, () => rows, width)].join('')).toBe(textTable(header, rows, width));
    });
  }
  it(`take over past ${PLAIN_ROWS} rows, reading the rows twice and holding only a batch of lines`, () => {
    const rows = rowsOf(PLAIN_ROWS + 1);
    let reads = 0;
    const pieces = [...plainTable(header, () => (reads++, rows), 80)];
    expect(reads).toBe(2);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p.length).toBeLessThan((1 << 16) + 200);
    // textTable hands a table this long to the plain writer: the same text either way
    expect(textTable(header, rows, 80)).toBe(pieces.join(''));
    const lines = pieces.join('').trimEnd().split('\n');
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80);
    expect(lines.some((l) => l.includes('a very long') && l.endsWith('…'))).toBe(true);
    expect(pieces.join('').split('\n')[0]).toMatch(/^CONTAINER\s+PRODUCT\s+VERSION$/);
  });
});

describe('CSV through csv-stringify', () => {
  it('guards every formula lead OWASP names (= + - @ TAB CR) in text cells, not in numbers', () => {
    const text = csvTable(['a', 'b'], [['=1+1', '+cmd'], ['-2+3', '@SUM(A1)'], ['\tx', '\rx'], [-5, 'plain']]);
    const rows = parseCsv(text);
    expect(rows.slice(1)).toEqual([["'=1+1", "'+cmd"], ["'-2+3", "'@SUM(A1)"], ["'\tx", "'\rx"], ['-5', 'plain']]);
    expect(text).toMatch(/\r\n$/);
  });
  it('quotes commas, quotes and newlines (RFC 4180) and writes booleans as words', () => {
    const rows = parseCsv(csvTable(['a', 'b', 'c'], [['x, y', 'say "hi"', true], ['line\nbreak', null, false]]));
    expect(rows.slice(1)).toEqual([['x, y', 'say "hi"', 'true'], ['line\nbreak', '', 'false']]);
  });
});
