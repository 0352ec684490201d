import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KensusError } from '../errors.js';
import { loadSignatureSet, repoSignaturesDir } from './load.js';
import { globSyntaxOk } from './rules/common.js';
import { pointerToField } from './schema-errors.js';

const tmpDirs: string[] = [];
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

const GOOD = `id: acme-db
vendor: Acme
product: Acme DB
licenseMetric: per-core
sources: [https://example.invalid/acme-db/Dockerfile]
evidence:
  - id: binary
    kind: file
    glob: /opt/acme/bin/acmed
  - id: version-file
    kind: content
    glob: /opt/acme/VERSION
    pattern: 'Acme DB (?<version>\\d+\\.\\d+)'
    maxBytes: 1024
`;

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kensus-sig-'));
  tmpDirs.push(dir);
  await cp(path.join(repoSignaturesDir(), 'signature.schema.json'), path.join(dir, 'signature.schema.json'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

async function loadError(files: Record<string, string>): Promise<KensusError> {
  const dir = await dirWith(files);
  try {
    await loadSignatureSet(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(2);
    return err as KensusError;
  }
  throw new Error('expected loadSignatureSet to fail');
}

describe('loadSignatureSet', () => {
  it('loads the repository signatures from its default directory', async () => {
    const set = await loadSignatureSet();
    const ids = set.signatures.map((s) => s.id);
    for (const id of ['oracle-database', 'oracle-java-se', 'ibm-mq', 'ibm-db2', 'ibm-websphere-liberty', 'nvidia-nim',
      'nvidia-cuda-toolkit', 'mongodb-enterprise', 'microsoft-sql-server', 'redis-enterprise']) {
      expect(ids).toContain(id);
    }
    expect(set.version).toMatch(/^sig-[0-9a-f]{16}$/);
    expect(set.plan.version).toBe(set.version);
  });

  it('derives the version from the files: same files same version, one byte changed another', async () => {
    const a = await loadSignatureSet(await dirWith({ 'acme.yaml': GOOD }));
    const b = await loadSignatureSet(await dirWith({ 'acme.yaml': GOOD }));
    const c = await loadSignatureSet(await dirWith({ 'acme.yaml': GOOD.replace('1024', '1025') }));
    expect(a.version).toBe(b.version);
    expect(c.version).not.toBe(a.version);
  });

  it('names file, field and fix for an invalid regular expression', async () => {
    const err = await loadError({ 'acme.yaml': GOOD.replace("'Acme DB (?<version>", "'Acme DB ((?<version>") });
    expect(err.message).toMatch(/acme\.yaml: evidence\[1\]\.pattern \(line \d+\): regular expression .*: RE2 cannot run it: missing closing \)/);
  });

  it('rejects what the linear-time engine cannot run, naming file and field (lookaround, backreferences)', async () => {
    for (const [bad, why] of [
      ["'Acme DB (?=x)(?<version>", /invalid or unsupported Perl syntax: `\(\?=`/],
      ["'Acme DB (?<=x)(?<version>", /invalid named capture|unsupported/],
      ["'(a)\\1 Acme DB (?<version>", /invalid escape sequence: `\\1`/],
    ] as const) {
      const err = await loadError({ 'acme.yaml': GOOD.replace("'Acme DB (?<version>", bad) });
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(/acme\.yaml: evidence\[1\]\.pattern \(line \d+\): regular expression /);
      expect(err.message).toMatch(why);
      expect(err.message).toMatch(/RE2 syntax/);
    }
  });

  it('names the field of an unknown key, with the fix', async () => {
    const err = await loadError({ 'acme.yaml': GOOD.replace('    maxBytes: 1024', '    maxBytes: 1024\n    maxbytes: 10') });
    expect(err.message).toContain('acme.yaml: evidence[1].maxbytes');
    expect(err.message).toContain('remove "maxbytes" or correct its spelling');
  });

  it('names a missing required field', async () => {
    const err = await loadError({ 'acme.yaml': GOOD.replace('licenseMetric: per-core\n', '') });
    expect(err.message).toMatch(/acme\.yaml: licenseMetric.*missing: add "licenseMetric"/);
  });

  it('names a missing byte cap on a content rule', async () => {
    const err = await loadError({ 'acme.yaml': GOOD.replace('    maxBytes: 1024\n', '') });
    expect(err.message).toMatch(/acme\.yaml: evidence\[1\]\.maxBytes.*add "maxBytes"/);
  });

  it('rejects an unknown evidence kind with the allowed values', async () => {
    const err = await loadError({ 'acme.yaml': GOOD.replace('kind: file', 'kind: path') });
    expect(err.message).toMatch(/acme\.yaml: evidence\[0\]\.kind.*use one of "file", "content"/);
  });

  it('requires a version group where the rule extracts a version', async () => {
    const err = await loadError({ 'acme.yaml': GOOD.replace('(?<version>\\d+\\.\\d+)', '(\\d+\\.\\d+)') });
    expect(err.message).toMatch(/acme\.yaml: evidence\[1\]\.pattern.*no \(\?<version>\.\.\.\) group: add a named group/);
  });

  it('rejects relative and malformed globs', async () => {
    const rel = await loadError({ 'acme.yaml': GOOD.replace('glob: /opt/acme/bin/acmed', 'glob: opt/acme/bin/acmed') });
    expect(rel.message).toMatch(/acme\.yaml: evidence\[0\]\.glob.*absolute path/);
    const bad = await loadError({ 'acme.yaml': GOOD.replace('glob: /opt/acme/bin/acmed', "glob: '/opt/acme/bin/[acmed'") });
    expect(bad.message).toMatch(/acme\.yaml: evidence\[0\]\.glob.*invalid glob.*fix the glob syntax/);
  });

  it('rejects duplicate rule ids and duplicate signature ids', async () => {
    const dupRule = await loadError({ 'acme.yaml': GOOD.replace('id: version-file', 'id: binary') });
    expect(dupRule.message).toMatch(/acme\.yaml: evidence\[1\]\.id.*duplicate rule id "binary": give every rule a unique id/);
    const dupSig = await loadError({ 'a.yaml': GOOD, 'b.yaml': GOOD });
    expect(dupSig.message).toMatch(/b\.yaml: id: "acme-db" is already used by .*a\.yaml/);
  });

  it('rejects a signature whose rules are all support rules', async () => {
    const text = GOOD.replace('    kind: file\n', '    kind: file\n    support: true\n').replace('    kind: content\n', '    kind: content\n    support: true\n');
    const err = await loadError({ 'acme.yaml': text });
    expect(err.message).toMatch(/acme\.yaml: evidence \(line \d+\): every rule is support: true.*make at least one rule an anchor/);
  });

  it('reports YAML syntax errors with the line', async () => {
    const err = await loadError({ 'acme.yaml': `${GOOD}  - id: x\n   kind: [\n` });
    expect(err.message).toMatch(/acme\.yaml: line \d+: invalid YAML/);
  });

  it('rejects an empty file', async () => {
    const err = await loadError({ 'acme.yaml': '# nothing yet\n' });
    expect(err.message).toMatch(/acme\.yaml: \(top level\): must be object: make it an object/);
  });

  it('says which directory it cannot read', async () => {
    await expect(loadSignatureSet('/nonexistent/kensus-signatures')).rejects.toThrow(/cannot read the signatures directory/);
  });

  it('every shipped signature cites its sources in a comment and in sources', async () => {
    const dir = repoSignaturesDir();
    const set = await loadSignatureSet();
    for (const sig of set.signatures) {
      const text = await readFile(path.join(dir, `${sig.id}.yaml`), 'utf8');
      expect(text.startsWith('#'), `${sig.id}.yaml starts with a comment`).toBe(true);
      expect(text).toMatch(/^sources:/m);
    }
  });
});

describe('helpers', () => {
  it('pointerToField turns JSON pointers into yaml paths', () => {
    expect(pointerToField('/evidence/2/pattern')).toBe('evidence[2].pattern');
    expect(pointerToField('')).toBe('(top level)');
  });

  it('globSyntaxOk', () => {
    expect(globSyntaxOk('/opt/*/bin/{a,b}')).toBe(true);
    expect(globSyntaxOk('/opt/[ab/x')).toBe(false);
    expect(globSyntaxOk('/opt/{a,b/x')).toBe(false);
    expect(globSyntaxOk('/opt//x')).toBe(false);
  });
});
