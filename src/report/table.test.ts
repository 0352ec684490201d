import { describe, expect, it } from 'vitest';
import { parseCsv, csvTable } from './csv.js';
import { fitWidths, shortRef, textTable, wrap } from './table.js';

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
