import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uncitedRules } from './citations.js';
import { loadSignatureSet, repoSignaturesDir } from './load.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'kensus-citations-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('rule citations', () => {
  it('every rule of every shipped signature cites its source', async () => {
    expect(uncitedRules(await loadSignatureSet())).toEqual([]);
  });

  it('names a rule without a source, with its file, field and the fix', async () => {
    await copyFile(path.join(repoSignaturesDir(), 'signature.schema.json'), path.join(dir, 'signature.schema.json'));
    await writeFile(
      path.join(dir, 'acme.yaml'),
      [
        'id: acme-db',
        'vendor: Acme',
        'product: Acme DB',
        'licenseMetric: per-core',
        'sources: [https://example.com/acme]',
        'evidence:',
        '  - { id: cited, kind: file, glob: /opt/acme/bin/acmed, source: https://example.com/acme/Dockerfile }',
        '  - { id: bare, kind: file, glob: /opt/acme/bin/acmectl }',
        '',
      ].join('\n'),
    );
    const lines = uncitedRules(await loadSignatureSet(dir));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/acme\.yaml: evidence\[1\] \(rule bare\): no source: cite the public file or document/);
  });
});
