import { compileSignatureRegex } from './regex.js';
import { describe, expect, it } from 'vitest';
import { loadSignatureSet } from './load.js';
import { compilePlan, toFindGlobs } from './plan.js';
import type { Signature } from './types.js';
import type { RawName } from '../model/entry.js';
import { hashBytes } from '../util/name-hash.js';

const set = await loadSignatureSet();
const plan = set.plan;

describe('compilePlan', () => {
  it('selects literal paths, basenames under **, extension globs and wildcard directories', () => {
    expect(plan.contentBytes('/opt/mssql/bin/sqlservr')).toBe(0);
    expect(plan.contentBytes('/usr/java/jdk-21/release')).toBe(65536);
    expect(plan.contentBytes('/release')).toBe(65536);
    expect(plan.contentBytes('/opt/oracle/product/19c/dbhome_1/bin/oracle')).toBe(0);
    expect(plan.contentBytes('/opt/ibm/db2/V11.5/bin/db2level')).toBe(0);
    expect(plan.contentBytes('/usr/local/cuda-12.4/version.json')).toBe(65536);
    expect(plan.contentBytes('/usr/share/swidtag/redhat.com/rhel-9.swidtag')).toBe(256 * 1024);
  });

  it('always includes the package databases with large but bounded caps', () => {
    for (const p of [
      '/var/lib/dpkg/status',
      '/var/lib/dpkg/status.d/libc6',
      '/lib/apk/db/installed',
      '/var/lib/rpm/Packages',
      '/var/lib/rpm/rpmdb.sqlite',
      '/usr/lib/sysimage/rpm/rpmdb.sqlite',
      '/usr/lib/sysimage/rpm/Packages',
      '/usr/lib/sysimage/rpm/Packages.db',
    ]) {
      const n = plan.contentBytes(p);
      expect(n, p).toBeGreaterThan(1024 * 1024);
      expect(n, p).toBeLessThanOrEqual(512 * 1024 * 1024);
    }
  });

  it('drops everything else', () => {
    for (const p of ['/usr/bin/ls', '/opt/oracle/README.md', '/opt/mssql/bin/sqlservr.bak', '/var/lib/dpkg/status-old',
      '/var/lib/dpkg/status.d/sub/x', '/usr/java/jdk-21/release.txt', '/etc/os-release', '/opt/mqm/bin/dspmqver']) {
      expect(plan.contentBytes(p), p).toBeUndefined();
    }
  });

  it('takes the largest cap when globs overlap', () => {
    const mk = (id: string, glob: string, maxBytes: number): Signature => ({
      id, vendor: 'v', product: 'p', licenseMetric: 'm', licensable: true, editions: [], versionReplace: [], exclude: [], file: `${id}.yaml`,
      evidence: [{ id: 'r', kind: 'content', strength: 'high', support: false, globs: [glob], pattern: compileSignatureRegex('x'), require: [], unless: [], maxBytes, ignore: [], source: [] }],
    });
    const p = compilePlan([mk('a', '/opt/x/VERSION', 100), mk('b', '**/VERSION', 5000), mk('c', '/opt/*/VERSION', 300)]);
    expect(p.contentBytes('/opt/x/VERSION')).toBe(5000);
    expect(p.contentBytes('/srv/VERSION')).toBe(5000);
  });

  it('expands braces and offers find -path style probes to the tracker', () => {
    const sig: Signature = {
      id: 'a', vendor: 'v', product: 'p', licenseMetric: 'm', licensable: true, editions: [], versionReplace: [], exclude: [], file: 'a.yaml',
      evidence: [{ id: 'r', kind: 'file', strength: 'high', support: false, globs: ['/opt/{foo,bar}/bin/x', '**/lib/**/y.jar'], ignore: [], source: [] }],
    };
    const p = compilePlan([sig]);
    expect(p.contentBytes('/opt/bar/bin/x')).toBe(0);
    expect(p.contentBytes('/a/lib/b/c/y.jar')).toBe(0);
    const globs = p.probes.map((x) => x.glob);
    expect(globs).toContain('/opt/foo/bin/x');
    expect(globs).toContain('/opt/bar/bin/x');
    expect(globs).toContain('*/lib/*/y.jar');
    expect(globs).toContain('*/lib/y.jar');
    expect(globs).toContain('/var/lib/dpkg/status');
    expect(p.probes.find((x) => x.glob === '*/*.swidtag')?.maxBytes).toBe(256 * 1024);
  });

  it('toFindGlobs', () => {
    expect(toFindGlobs('**/release')).toEqual(['*/release']);
    expect(toFindGlobs('/opt/**/x')).toEqual(['/opt/*/x', '/opt/x']);
    expect(toFindGlobs('/opt/*/x')).toEqual(['/opt/*/x']);
    expect(toFindGlobs('/opt/a/**')).toEqual(['/opt/a/*']);
  });

  it('is fast enough for 200k headers', () => {
    const paths: string[] = [];
    for (let i = 0; i < 200_000; i++) paths.push(`/usr/lib/python3/dist-packages/pkg${i % 500}/module${i}.py`);
    paths.push('/usr/java/jdk-21/release');
    const t0 = performance.now();
    let hits = 0;
    for (const p of paths) if (plan.contentBytes(p) !== undefined) hits++;
    const ms = performance.now() - t0;
    expect(hits).toBe(1);
    expect(ms).toBeLessThan(2000);
  });

  it('rejectsName: rejects from the raw bytes only what contentBytes drops, and most of what it drops', () => {
    /** The RawName a tar walker fills for `rel`, optionally split at a '/' into the ustar prefix field. */
    const raw = (rel: string, split = -1): RawName => {
      const bytes = Buffer.from(rel, 'latin1');
      const start = split >= 0 ? split + 1 : 0;
      const baseStart = rel.lastIndexOf('/') + 1;
      const dot = rel.lastIndexOf('.');
      return {
        bytes, prefixStart: 0, prefixEnd: split >= 0 ? split : 0, start, end: bytes.length, baseStart,
        baseHash: hashBytes(bytes, baseStart, bytes.length), extHash: dot >= baseStart ? hashBytes(bytes, dot, bytes.length) : -1,
      };
    };
    const paths = [
      'var/lib/dpkg/status', 'var/lib/dpkg/status.d/libc6', 'var/lib/dpkg/status.d', 'var/lib/dpkg/status-old', 'var/lib/dpkg/status.d/sub/x',
      'usr/java/jdk-21/release', 'release', 'usr/java/jdk-21/release.txt', 'opt/mssql/bin/sqlservr', 'opt/mssql/bin/sqlservr.bak',
      'usr/share/swidtag/redhat.com/rhel-9.swidtag', 'opt/ibm/db2/V11.5/x/y.swidtag', 'opt/app/install/response/db.rsp', 'x.rsp',
      'usr/bin/ls', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'etc/os-release', 'usr', 'usr/share/doc/libc6/copyright', 'lib/apk/db/installed',
      'usr/lib/sysimage/rpm/rpmdb.sqlite', 'opt/oracle/product/19c/dbhome_1/bin/oracle',
    ];
    let rejected = 0;
    for (const p of paths) {
      const splits = [-1, ...[...p].flatMap((c, i) => (c === '/' ? [i] : []))];
      for (const split of splits) {
        const r = plan.rejectsName!(raw(p, split));
        if (r) expect(plan.contentBytes('/' + p), `${p} rejected but a candidate`).toBeUndefined();
        else if (plan.contentBytes('/' + p) === undefined) expect(p, 'left to the exact check only by its directory prefix or extension').toMatch(/^var\/lib\/dpkg\/status\.d\/|\.(rsp|swidtag)$/);
        if (r) rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(20);
  });
});
