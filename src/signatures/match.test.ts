import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileEntry, InstalledPackage, ScanSubject } from '../model/entry.js';
import { parseSignature, repoSignaturesDir } from './load.js';
import { matchSignature, matchSubject } from './match.js';
import { upstreamVersion } from './rules/package.js';
import { parseSwidTag } from '../packages/swid.js';
import { compilePlan } from './plan.js';
import type { Signature } from './types.js';

const schema = path.join(repoSignaturesDir(), 'signature.schema.json');

async function sig(body: string, head = ''): Promise<Signature> {
  return parseSignature(
    `id: acme\nvendor: Acme\nproduct: Acme Server\nlicenseMetric: per-core\nsources: [https://example.invalid]\n${head}evidence:\n${body}`,
    'acme.yaml',
    schema,
  );
}

function file(p: string, content?: string, kind: FileEntry['kind'] = 'file'): FileEntry {
  const e: FileEntry = { path: p, kind, size: content?.length ?? 0, mode: 0o644 };
  if (content !== undefined) e.content = Buffer.from(content, 'latin1');
  return e;
}

function subject(parts: Partial<Omit<ScanSubject, 'files'>> & { files?: FileEntry[] } = {}): ScanSubject {
  return {
    files: new Map((parts.files ?? []).map((f) => [f.path, f])),
    packages: parts.packages ?? [],
    labels: parts.labels ?? {},
    env: parts.env ?? {},
    refs: parts.refs ?? [],
    annotations: parts.annotations,
  };
}

describe('matcher evidence kinds', () => {
  it('evidence read from a binary keeps its NUL-separated strings readable', async () => {
    const s = await sig(`  - id: bin\n    kind: content\n    glob: /opt/acme/bin/acme\n    pattern: '\\x00acme\\x00(?<version>\\d+\\.\\d+)\\x00'\n    maxBytes: 4096\n`);
    const f = matchSignature(s, subject({ files: [file('/opt/acme/bin/acme', '\x7fELF\x00acme\x002.5\x00')] }));
    expect(f?.evidence[0].value).toBe('acme 2.5');
  });

  it('file globs, with a version taken from the path', async () => {
    const s = await sig(`  - id: bin\n    kind: file\n    strength: high\n    glob: /opt/acme/v*/bin/acmed\n    pathPattern: '/v(?<version>[\\d.]+)/'\n    extract: [version]\n`);
    const f = matchSignature(s, subject({ files: [file('/opt/acme/v3.2/bin/acmed')] }));
    expect(f).toMatchObject({ id: 'acme', version: '3.2', confidence: 'high', edition: null, licensable: true });
    // `gives` marks the evidence the version came from.
    expect(f!.evidence).toEqual([{ kind: 'file', path: '/opt/acme/v3.2/bin/acmed', rule: 'acme/bin', gives: ['version'] }]);
    expect(matchSignature(s, subject({ files: [file('/opt/other/v3.2/bin/acmed')] }))).toBeNull();
  });

  it('ignore globs keep bundled copies out (e.g. a JDK inside another product home)', async () => {
    const s = await sig(`  - id: rel\n    kind: content\n    glob: '**/release'\n    ignore: ['**/product/*/*/jdk/**']\n    pattern: 'V=(?<version>\\d+)'\n    maxBytes: 100\n`);
    expect(matchSignature(s, subject({ files: [file('/opt/oracle/product/19c/dbhome_1/jdk/release', 'V=8')] }))).toBeNull();
    expect(matchSignature(s, subject({ files: [file('/usr/java/jdk-8/release', 'V=8')] }))?.version).toBe('8');
  });

  it('content regex with require/unless, bounded by the byte cap', async () => {
    const s = await sig(
      `  - id: ver\n    kind: content\n    glob: '**/VERSION'\n    pattern: 'Acme (?<version>\\d+\\.\\d+\\.\\d+)'\n    require: ['BUILD=commercial']\n    unless: ['VENDOR=community']\n    maxBytes: 64\n`,
    );
    const ok = matchSignature(s, subject({ files: [file('/srv/VERSION', 'Acme 1.2.3\nBUILD=commercial\n')] }));
    expect(ok).toMatchObject({ version: '1.2.3', confidence: 'medium' });
    expect(ok!.evidence[0]).toMatchObject({ kind: 'content', path: '/srv/VERSION', rule: 'acme/ver', value: 'Acme 1.2.3' });
    expect(matchSignature(s, subject({ files: [file('/srv/VERSION', 'Acme 1.2.3\n')] }))).toBeNull();
    expect(matchSignature(s, subject({ files: [file('/srv/VERSION', 'Acme 1.2.3\nBUILD=commercial\nVENDOR=community\n')] }))).toBeNull();
    // The version string sits beyond the 64-byte cap: not seen, even though the content holds it.
    const far = `BUILD=commercial${' '.repeat(100)}Acme 9.9.9`;
    expect(matchSignature(s, subject({ files: [file('/srv/VERSION', far)] }))).toBeNull();
    // Binary content: latin1 keeps bytes as they are.
    const bin = `\x7fELF\x00\x01\xff BUILD=commercial \x00Acme 4.5.6\x00`;
    expect(matchSignature(s, subject({ files: [file('/bin/VERSION', bin)] }))?.version).toBe('4.5.6');
  });

  it('package names per manager, with the upstream version', async () => {
    const s = await sig(`  - id: pkg\n    kind: package\n    strength: high\n    managers: [dpkg, rpm]\n    name: 'acme-server(-ee)?'\n`);
    const pkgs: InstalledPackage[] = [
      { manager: 'apk', name: 'acme-server', version: '9.0-r1', source: '/lib/apk/db/installed' },
      { manager: 'rpm', name: 'acme-server-ee', version: '1:2.3.4-5.el9', source: '/var/lib/rpm/rpmdb.sqlite' },
    ];
    const f = matchSignature(s, subject({ packages: pkgs }));
    expect(f).toMatchObject({ version: '2.3.4', confidence: 'high' });
    expect(f!.evidence).toEqual([
      { kind: 'package', path: '/var/lib/rpm/rpmdb.sqlite', rule: 'acme/pkg', value: 'acme-server-ee@1:2.3.4-5.el9', gives: ['version'] },
    ]);
    expect(matchSignature(s, subject({ packages: [pkgs[0]] }))).toBeNull();
    expect(matchSignature(s, subject({ packages: [{ manager: 'dpkg', name: 'acme-server-tools', version: '1', source: 's' }] }))).toBeNull();
  });

  it('SWID tags (ISO 19770-2:2015 and the 2009 form), checking the regid', async () => {
    const s = await sig(`  - id: swid\n    kind: swid\n    strength: high\n    name: '^Acme Server(?: (?<edition>\\w+))?$'\n    regid: '^acme\\.example$'\n`);
    const tag2015 = `<?xml version="1.0"?><swid:SoftwareIdentity xmlns:swid="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" name="Acme Server Gold" version="7.1.0" tagId="x"><swid:Entity name="Acme" regid="acme.example" role="tagCreator"/><swid:Entity name="Other" regid="other.example" role="distributor"/></swid:SoftwareIdentity>`;
    const f = matchSignature(s, subject({ files: [file('/opt/acme/acme.swidtag', tag2015)] }));
    expect(f).toMatchObject({ version: '7.1.0', edition: 'Gold' });
    const tag2009 = `<swid:software_identification_tag xmlns:swid="http://standards.iso.org/iso/19770/-2/2009/schema.xsd"><swid:product_title>Acme Server</swid:product_title><swid:product_version><swid:name>6.0</swid:name></swid:product_version><swid:software_creator><swid:name>Acme</swid:name><swid:regid>acme.example</swid:regid></swid:software_creator></swid:software_identification_tag>`;
    expect(matchSignature(s, subject({ files: [file('/usr/share/swid/a.swidtag', tag2009)] }))?.version).toBe('6.0');
    const wrongRegid = tag2015.replace('regid="acme.example"', 'regid="fake.example"');
    expect(matchSignature(s, subject({ files: [file('/opt/acme/acme.swidtag', wrongRegid)] }))).toBeNull();
    expect(matchSignature(s, subject({ files: [file('/opt/acme/acme.swidtag', '<not xml')] }))).toBeNull();
  });

  it('labels, env, annotations and image references', async () => {
    const s = await sig(
      `  - id: label\n    kind: label\n    key: productName\n    value: '^Acme Server$'\n` +
        `  - id: env\n    kind: env\n    key: ACME_HOME\n` +
        `  - id: ann\n    kind: annotation\n    strength: high\n    key: productID\n    value: '^acme-\\d+$'\n` +
        `  - id: ref\n    kind: imageRef\n    strength: low\n    pattern: '^registry\\.example/acme/server:(?<version>\\d+\\.\\d+)'\n`,
    );
    expect(matchSignature(s, subject({ labels: { productName: 'Acme Server' } }))?.confidence).toBe('medium');
    expect(matchSignature(s, subject({ labels: { productName: 'Acme Server Lite' } }))).toBeNull();
    expect(matchSignature(s, subject({ env: { ACME_HOME: '/opt/acme' } }))?.evidence[0]).toEqual({
      kind: 'env', path: 'ACME_HOME', rule: 'acme/env', value: '/opt/acme',
    });
    expect(matchSignature(s, subject({ annotations: { productID: 'acme-42' } }))?.confidence).toBe('high');
    const byRef = matchSignature(s, subject({ refs: ['registry.example/acme/server:5.1-ubi'] }));
    expect(byRef).toMatchObject({ confidence: 'low', version: '5.1' });
    // Two medium anchors together are strong evidence.
    expect(matchSignature(s, subject({ labels: { productName: 'Acme Server' }, env: { ACME_HOME: '/x' } }))?.confidence).toBe('high');
  });
});

describe('matcher semantics', () => {
  it('support rules alone never make a finding, but add version and edition', async () => {
    const s = await sig(
      `  - id: bin\n    kind: file\n    glob: /opt/acme/bin/acmed\n` +
        `  - id: pid\n    kind: env\n    support: true\n    key: ACME_EDITION\n    value: '^(?<edition>\\w+)$'\n    extract: [edition]\n` +
        `  - id: ver\n    kind: label\n    support: true\n    key: acme.version\n    value: '^(?<version>[\\d.]+)$'\n    extract: [version]\n`,
      `licensable: null\neditions:\n  - { name: Free Edition, match: '^free$', licensable: false }\n  - { name: Enterprise, match: '^ent', licensable: true }\n`,
    );
    expect(matchSignature(s, subject({ env: { ACME_EDITION: 'free' }, labels: { 'acme.version': '2.0' } }))).toBeNull();
    const free = matchSignature(s, subject({ files: [file('/opt/acme/bin/acmed')], env: { ACME_EDITION: 'FREE' }, labels: { 'acme.version': '2.0' } }));
    expect(free).toMatchObject({ edition: 'Free Edition', licensable: false, version: '2.0' });
    const ent = matchSignature(s, subject({ files: [file('/opt/acme/bin/acmed')], env: { ACME_EDITION: 'enterprise' } }));
    expect(ent).toMatchObject({ edition: 'Enterprise', licensable: true, version: null });
    // Unknown edition: kept as seen, licensable stays the signature's (null: cannot be told).
    const odd = matchSignature(s, subject({ files: [file('/opt/acme/bin/acmed')], env: { ACME_EDITION: 'Custom' } }));
    expect(odd).toMatchObject({ edition: 'Custom', licensable: null });
    // Nothing says the version: null, never invented.
    expect(matchSignature(s, subject({ files: [file('/opt/acme/bin/acmed')] }))).toMatchObject({ version: null, edition: null });
  });

  it('exclusion rules rule the product out for the whole subject', async () => {
    const s = await sig(
      `  - id: bin\n    kind: file\n    glob: /usr/bin/acmed\nexclude:\n  - id: community\n    kind: package\n    name: acme-community\n`,
    );
    expect(matchSignature(s, subject({ files: [file('/usr/bin/acmed')] }))).not.toBeNull();
    const pkgs: InstalledPackage[] = [{ manager: 'dpkg', name: 'acme-community', version: '1.0', source: '/var/lib/dpkg/status' }];
    expect(matchSignature(s, subject({ files: [file('/usr/bin/acmed')], packages: pkgs }))).toBeNull();
  });

  it('prefers the most precise version from the strongest evidence and applies version.replace', async () => {
    const s = await sig(
      `  - id: weak\n    kind: env\n    strength: low\n    key: ACME_VERSION\n    value: '^(?<version>.+)$'\n    extract: [version]\n` +
        `  - id: strong\n    kind: content\n    strength: high\n    glob: /opt/acme/VERSION\n    pattern: 'v(?<version>[\\d._]+)'\n    maxBytes: 100\n`,
      `version:\n  replace:\n    - { pattern: '_', with: '.' }\n`,
    );
    const f = matchSignature(s, subject({ env: { ACME_VERSION: '9.9.9.9' }, files: [file('/opt/acme/VERSION', 'v3_1_4')] }));
    expect(f?.version).toBe('3.1.4');
  });

  it('a coarse version from strong evidence is refined by agreeing weaker evidence, never replaced', async () => {
    const s = await sig(
      `  - id: dir\n    kind: file\n    strength: high\n    glob: /opt/acme-*/bin/acmed\n    pathPattern: 'acme-(?<version>\\d+)/'\n    extract: [version]\n` +
        `  - id: label\n    kind: label\n    support: true\n    key: version\n    value: '^(?<version>[\\d.]+)$'\n    extract: [version]\n`,
    );
    const files = [file('/opt/acme-11/bin/acmed')];
    expect(matchSignature(s, subject({ files, labels: { version: '11.0.0.13' } }))?.version).toBe('11.0.0.13');
    expect(matchSignature(s, subject({ files, labels: { version: '12.0.1.0' } }))?.version).toBe('11');
    expect(matchSignature(s, subject({ files, labels: { version: '110.1' } }))?.version).toBe('11');
  });

  it('matchSubject runs every signature and sorts by id; upstreamVersion strips epoch and release', async () => {
    const a = await sig(`  - id: bin\n    kind: file\n    glob: /a\n`);
    const b = { ...(await sig(`  - id: bin\n    kind: file\n    glob: /b\n`)), id: 'aardvark' };
    const signatures = [a, b];
    const set = { signatures, plan: compilePlan(signatures), version: 'test' };
    const found = matchSubject(set, subject({ files: [file('/a'), file('/b')] }));
    expect(found.map((f) => f.id)).toEqual(['aardvark', 'acme']);
    expect(upstreamVersion('1:2.3-4ubuntu1')).toBe('2.3');
    expect(upstreamVersion('2.3-r4')).toBe('2.3');
    expect(upstreamVersion('2.3')).toBe('2.3');
  });

  it('parseSwidTag reads name, version, tagId and regids', () => {
    expect(parseSwidTag('<SoftwareIdentity name="X" version="1" tagId="t"><Entity regid="a.b"/></SoftwareIdentity>')).toEqual({
      name: 'X', version: '1', tagId: 't', regids: ['a.b'],
    });
    expect(parseSwidTag('<other/>')).toBeNull();
  });

  it('stays fast on subjects with many entries (every symlink of an image is kept)', async () => {
    const { loadSignatureSet } = await import('./load.js');
    const set = await loadSignatureSet();
    const files: FileEntry[] = [];
    for (let i = 0; i < 20_000; i++) files.push({ path: `/usr/lib/x86_64-linux-gnu/lib${i}.so`, kind: 'symlink', size: 0, mode: 0o777, linkTarget: `lib${i}.so.1` });
    files.push(file('/opt/mssql/bin/sqlservr'));
    const s = subject({ files });
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) expect(matchSubject(set, s).map((f) => f.id)).toEqual(['microsoft-sql-server']);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('metadata alone (image references, pod annotations) is low-confidence evidence with real versions', async () => {
    const { loadSignatureSet } = await import('./load.js');
    const set = await loadSignatureSet();
    const only = (parts: Partial<Omit<ScanSubject, 'files'>>) => matchSubject(set, subject(parts));
    expect(only({ refs: ['container-registry.oracle.com/database/enterprise:19.3.0.0'] })).toMatchObject([
      { id: 'oracle-database', edition: 'Enterprise Edition', version: '19.3.0.0', licensable: true, confidence: 'low' },
    ]);
    expect(only({ refs: ['gvenzl/oracle-xe:21.3.0-slim'] })).toMatchObject([{ id: 'oracle-database', edition: 'Express Edition', licensable: false }]);
    expect(only({ refs: ['container-registry.oracle.com/java/openjdk:21'] })).toEqual([]);
    expect(only({ refs: ['container-registry.oracle.com/java/jdk:21'] })).toMatchObject([{ id: 'oracle-java-se', version: '21' }]);
    // The MQ operator carries IBM metering annotations but is not a queue manager.
    expect(only({ annotations: { productName: 'IBM MQ Operator', productMetric: 'FREE', productVersion: '1.0.0' } })).toEqual([]);
    expect(
      only({ annotations: { productID: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', productVersion: '9.3.0.0', productMetric: 'VIRTUAL_PROCESSOR_CORE' } }),
    ).toMatchObject([{ id: 'ibm-mq', edition: 'Advanced', version: '9.3.0.0', confidence: 'high' }]);
    expect(only({ refs: ['quay.io/mongodb/mongodb-enterprise-server:7.0.12-ubi8'] })).toMatchObject([{ id: 'mongodb-enterprise', version: '7.0.12' }]);
    expect(only({ refs: ['docker.io/library/mongo:7.0'] })).toEqual([]);
  });
});
