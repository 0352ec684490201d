import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { FileEntry, ScanSubject } from '../../model/entry.js';
import { parseSignature, repoSignaturesDir } from '../load.js';
import { matchSignature } from '../match.js';
import { compileTermsTable, lookupTerms, versionKey } from './version-terms.js';

const root = repoSignaturesDir();
const schema = path.join(root, 'signature.schema.json');
const oracleTable = parse(await readFile(path.join(root, 'data', 'oracle-java-licence-terms.yaml'), 'utf8')) as unknown;

function subject(files: Record<string, string>): ScanSubject {
  const map = new Map<string, FileEntry>();
  for (const [p, c] of Object.entries(files)) map.set(p, { path: p, kind: 'file', size: c.length, mode: 0o644, content: Buffer.from(c, 'latin1') });
  return { files: map, packages: [], labels: {}, env: {}, refs: [] };
}

const table = {
  id: 'acme-terms',
  terms: { FREE: { name: 'Free Terms', licensable: false }, PAID: { name: 'Paid Licence', licensable: true } },
  ranges: [
    { from: '1', to: '1.999', terms: 'FREE', released: { to: '2020-12-31' }, source: 'https://example.invalid/terms' },
    { from: '2', to: '2.999', terms: 'PAID', source: 'https://example.invalid/terms' },
    { from: '3', to: '3.999', terms: null },
  ],
};

async function acme(data: unknown = table, present = true) {
  return parseSignature(
    [
      'id: acme',
      'vendor: Acme',
      'product: Acme Runtime',
      'licenseMetric: per-core',
      'sources: [https://example.invalid]',
      'editions:',
      "  - { name: Free Terms, match: 'Free Terms', licensable: false }",
      "  - { name: Paid Licence, match: 'Paid Licence', licensable: true }",
      'evidence:',
      '  - id: version-file',
      '    kind: content',
      '    strength: high',
      "    glob: '**/acme/VERSION'",
      "    pattern: 'VERSION=(?<version>[\\d.]+)(?:\\s+DATE=(?<date>\\d{4}-\\d{2}-\\d{2}))?'",
      '    extract: [version, date]',
      '    maxBytes: 4096',
      '  - id: licence-text',
      '    kind: content',
      '    support: true',
      '    strength: medium',
      "    glob: '**/acme/LICENSE'",
      "    pattern: '(?<edition>Free Terms|Paid Licence)'",
      '    extract: [edition]',
      '    maxBytes: 4096',
      '  - id: terms',
      '    kind: versionTerms',
      '    table: acme-terms',
      '',
    ].join('\n'),
    'acme.yaml',
    schema,
    new Map(present ? [['acme-terms', data]] : []),
  );
}

describe('versionTerms: the licence terms of the version found', () => {
  it('reads dotted and Java 8 versions', () => {
    expect(versionKey('1.8.0_411')).toEqual([1, 8, 0, 411]);
    expect(versionKey('21.0.5+9-LTS-239')).toEqual([21, 0, 5]);
    expect(versionKey('latest')).toBeNull();
  });

  it("follows Oracle's published boundaries, with the release date where it decides", () => {
    const t = compileTermsTable(oracleTable);
    const name = (v: string, d?: string) => {
      const a = lookupTerms(t, v, d);
      return a === null ? 'no range' : (a.terms?.name ?? 'unknown');
    };
    expect(name('1.8.0_202')).toBe('Binary Code License');
    expect(name('1.8.0_205')).toBe('unknown');
    expect(name('1.8.0_211')).toBe('OTN License');
    expect(name('11.0.25')).toBe('OTN License');
    expect(name('17.0.12')).toBe('No-Fee Terms and Conditions');
    expect(name('17.0.12', '2024-07-16')).toBe('No-Fee Terms and Conditions');
    expect(name('17.0.13')).toBe('OTN License');
    expect(name('21.0.5', '2024-10-15')).toBe('No-Fee Terms and Conditions');
    expect(name('21.0.13')).toBe('unknown');
    expect(name('21.0.13', '2026-10-20')).toBe('OTN License');
    expect(name('25.0.1')).toBe('No-Fee Terms and Conditions');
    // A release date that contradicts the version's range: no range holds it.
    expect(name('17.0.12', '2025-01-21')).toBe('no range');
    expect(name('16.0.1')).toBe('no range');
  });

  it('gives the edition and licensable of the range, with the table as evidence', async () => {
    const f = matchSignature(await acme(), subject({ '/opt/acme/VERSION': 'VERSION=1.4 DATE=2020-03-01' }))!;
    expect(f).toMatchObject({ version: '1.4', edition: 'Free Terms', licensable: false });
    expect(f.evidence.find((e) => e.kind === 'terms')).toEqual({
      kind: 'terms',
      path: 'data/acme-terms.yaml',
      rule: 'acme/terms',
      value: '1.4 released 2020-03-01: Free Terms (1 to 1.999)',
      gives: ['edition'],
    });
    expect(matchSignature(await acme(), subject({ '/opt/acme/VERSION': 'VERSION=2.1' }))).toMatchObject({ edition: 'Paid Licence', licensable: true });
  });

  it('says licensable null where the terms cannot be told, never a guess', async () => {
    for (const content of ['VERSION=3.0', 'VERSION=1.4 DATE=2022-06-01', 'VERSION=9.0']) {
      const f = matchSignature(await acme(), subject({ '/opt/acme/VERSION': content }))!;
      expect(f, content).toMatchObject({ edition: null, licensable: null });
      expect(f.evidence.find((e) => e.kind === 'terms')?.value, content).toMatch(/cannot be told|no range/);
    }
  });

  it('loses to the licence text found in the image, and says the two disagree', async () => {
    const f = matchSignature(await acme(), subject({ '/opt/acme/VERSION': 'VERSION=2.1', '/opt/acme/LICENSE': 'Acme Free Terms' }))!;
    expect(f).toMatchObject({ edition: 'Free Terms', licensable: false });
    expect(f.evidence.find((e) => e.rule === 'acme/licence-text')?.gives).toEqual(['edition']);
    expect(f.warnings).toEqual(['edition: acme/licence-text says Free Terms, acme/terms says Paid Licence; reported Free Terms, from the stronger evidence']);
  });

  it('adds nothing when no version was found', async () => {
    const s = await parseSignature(
      "id: acme\nvendor: Acme\nproduct: Acme\nlicenseMetric: m\nsources: [x]\nevidence:\n  - { id: bin, kind: file, glob: /opt/acme/bin/acme }\n  - { id: terms, kind: versionTerms, table: acme-terms }\n",
      'acme.yaml',
      schema,
      new Map([['acme-terms', table]]),
    );
    const f = matchSignature(s, { ...subject({}), files: new Map([['/opt/acme/bin/acme', { path: '/opt/acme/bin/acme', kind: 'file', size: 1, mode: 0o755 }]]) })!;
    expect(f.evidence.map((e) => e.rule)).toEqual(['acme/bin']);
    expect(f.licensable).toBe(true);
  });

  it('rejects a table that is wrong, naming the data file, the field and the fix', async () => {
    await expect(acme({ ...table, ranges: [{ from: '2', to: '1', terms: 'FREE', source: 'x' }] })).rejects.toThrow(/table.*data\/acme-terms\.yaml: ranges\[0\]: from 2 is after to 1: swap or correct the bounds/);
    await expect(acme({ ...table, ranges: [{ from: '1', to: '2', terms: 'CHEAP', source: 'x' }] })).rejects.toThrow(/ranges\[0\]\.terms: "CHEAP" is not one of the terms: use one of FREE, PAID or null/);
    await expect(acme({ ...table, ranges: [{ from: '1', to: '2', terms: 'FREE' }] })).rejects.toThrow(/ranges\[0\]\.source: missing: cite the public document/);
    await expect(acme({ ...table, ranges: [{ from: '1', to: '2', terms: 'FREE', source: 'x', released: { to: '31/12/2020' } }] })).rejects.toThrow(/released\.to: "31\/12\/2020" is not a date: write YYYY-MM-DD/);
    await expect(acme(table, false)).rejects.toThrow(/evidence\[2\]\.table.*there is no data\/acme-terms\.yaml/);
  });
});
