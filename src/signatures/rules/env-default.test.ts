import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScanSubject } from '../../model/entry.js';
import { loadSignatureSet, parseSignature, repoSignaturesDir } from '../load.js';
import { matchSignature } from '../match.js';

const schema = path.join(repoSignaturesDir(), 'signature.schema.json');
const sqlservr = new Map([['/opt/mssql/bin/sqlservr', { path: '/opt/mssql/bin/sqlservr', kind: 'file' as const, size: 1, mode: 0o755 }]]);
const subject = (env: Record<string, string>): ScanSubject => ({ files: sqlservr, packages: [], labels: {}, env, refs: [] });
const sql = (await loadSignatureSet()).signatures.find((s) => s.id === 'microsoft-sql-server')!;

describe('envDefault: the documented default when a variable is not set', () => {
  it('applies SQL Server\'s Developer default without MSSQL_PID, and the evidence says so', () => {
    const f = matchSignature(sql, subject({ ACCEPT_EULA: 'Y' }))!;
    expect(f).toMatchObject({ edition: 'Developer', licensable: false });
    expect(f.evidence.find((e) => e.kind === 'default')).toEqual({
      kind: 'default',
      path: 'MSSQL_PID',
      rule: 'microsoft-sql-server/developer-by-default',
      value: 'MSSQL_PID is not set: the documented default Developer applies',
      gives: ['edition'],
    });
  });

  it('never applies when the variable is set: the edition it names, or none for a product key', () => {
    expect(matchSignature(sql, subject({ MSSQL_PID: 'Enterprise' }))).toMatchObject({ edition: 'Enterprise', licensable: true });
    const key = matchSignature(sql, subject({ MSSQL_PID: 'AB1CD-2EF3G-HI4JK-5LM6N-OP7QR' }))!;
    expect(key).toMatchObject({ edition: null, licensable: null });
    expect(key.evidence.some((e) => e.kind === 'default')).toBe(false);
  });

  it('is a support rule: an unset variable alone finds nothing', async () => {
    const s = await parseSignature(
      "id: acme\nvendor: Acme\nproduct: Acme\nlicenseMetric: m\nsources: [x]\nevidence:\n  - { id: bin, kind: file, glob: /opt/acme/bin/acme }\n  - { id: dflt, kind: envDefault, key: ACME_EDITION, edition: Community, support: false }\n",
      'acme.yaml',
      schema,
    );
    expect(s.evidence[1]).toMatchObject({ kind: 'envDefault', support: true });
    expect(matchSignature(s, { files: new Map(), packages: [], labels: {}, env: {}, refs: [] })).toBeNull();
  });

  it('needs the edition it defaults to', async () => {
    await expect(
      parseSignature("id: acme\nvendor: Acme\nproduct: Acme\nlicenseMetric: m\nsources: [x]\nevidence:\n  - { id: bin, kind: file, glob: /opt/acme/bin/acme }\n  - { id: dflt, kind: envDefault, key: ACME_EDITION }\n", 'acme.yaml', schema),
    ).rejects.toThrow(/evidence\[1\]\.edition.*missing: add "edition"/);
  });
});
