import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../model/entry.js';
import { parseApkInstalled } from './apk.js';
import { parseDpkgStatus } from './dpkg.js';
import { extractPackages } from './index.js';
import { BdbFormatError, readBdbHashValues, writeBdbHash } from './rpm-bdb.js';
import { buildRpmHeaderBlob, parseRpmHeaderBlob } from './rpm-header.js';
import { NdbFormatError, readNdbBlobs, writeNdb } from './rpm-ndb.js';
import { readRpmSqliteBlobs, writeRpmSqlite } from './rpm-sqlite.js';

function entry(path: string, content: Buffer | string): FileEntry {
  const b = typeof content === 'string' ? Buffer.from(content) : content;
  return { path, kind: 'file', size: b.length, mode: 0o644, content: b };
}

const DPKG = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 .
 the system.

Package: removed-thing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: half
Status: install ok not-installed
Version: 1.0

Package: mssql-server
Status: install ok installed
Architecture: amd64
Version: 16.0.4135.4-1
Description: Microsoft SQL Server Relational Database Engine
`;

describe('dpkg', () => {
  it('keeps installed packages only, with version, arch and maintainer', () => {
    const rows = parseDpkgStatus(DPKG, '/var/lib/dpkg/status');
    expect(rows.map((r) => `${r.name}@${r.version}`)).toEqual(['libc6@2.36-9+deb12u4', 'mssql-server@16.0.4135.4-1']);
    expect(rows[0]).toMatchObject({ manager: 'dpkg', arch: 'amd64', source: '/var/lib/dpkg/status' });
    expect(rows[0].vendor).toContain('GNU Libc');
  });

  it('reads distroless status.d files, which have no Status field', () => {
    const rows = parseDpkgStatus('Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n', '/var/lib/dpkg/status.d/base', false);
    expect(rows).toEqual([{ manager: 'dpkg', name: 'base-files', version: '12.4+deb12u5', arch: 'amd64', source: '/var/lib/dpkg/status.d/base' }]);
  });
});

describe('apk', () => {
  it('reads P/V/A blocks', () => {
    const text = 'C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nm:Timo Teräs <timo.teras@iki.fi>\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\n';
    expect(parseApkInstalled(text, '/lib/apk/db/installed').map((r) => [r.name, r.version, r.arch])).toEqual([
      ['musl', '1.2.4-r2', 'x86_64'],
      ['busybox', '1.36.1-r15', 'x86_64'],
    ]);
  });
});

describe('rpm header blob', () => {
  it('round-trips NAME, VERSION, RELEASE, EPOCH, ARCH, VENDOR', () => {
    const blob = buildRpmHeaderBlob({ NAME: 'bash', VERSION: '5.1.8', RELEASE: '9.el9', EPOCH: 1, ARCH: 'x86_64', VENDOR: 'Red Hat, Inc.' });
    expect(parseRpmHeaderBlob(blob)).toEqual({
      name: 'bash', version: '5.1.8', release: '9.el9', epoch: 1, arch: 'x86_64', vendor: 'Red Hat, Inc.',
    });
  });

  it('rejects malformed blobs instead of reading past them', () => {
    const blob = buildRpmHeaderBlob({ NAME: 'bash', VERSION: '5.1.8' });
    expect(parseRpmHeaderBlob(blob.subarray(0, blob.length - 3))).toBeNull();
    expect(parseRpmHeaderBlob(Buffer.from([0, 0, 0, 1]))).toBeNull();
    const huge = Buffer.from(blob);
    huge.writeInt32BE(0x7fffffff, 0);
    expect(parseRpmHeaderBlob(huge)).toBeNull();
  });
});

describe('rpm Berkeley DB (Packages)', () => {
  it('reads values stored off-page across several overflow pages', () => {
    const big = buildRpmHeaderBlob({ NAME: 'kernel-core', VERSION: '5.14.0', RELEASE: '427.el9', ARCH: 'x86_64', VENDOR: 'x'.repeat(3000) });
    const small = buildRpmHeaderBlob({ NAME: 'tzdata', VERSION: '2024a', RELEASE: '1.el9', ARCH: 'noarch' });
    const db = writeBdbHash([big, small], 1024);
    const values = readBdbHashValues(db);
    expect(values.map((v) => parseRpmHeaderBlob(v)?.name)).toEqual(['kernel-core', 'tzdata']);
    expect(values[0].equals(big)).toBe(true);
  });

  it('yields what is whole from a truncated file and rejects non-BDB bytes', () => {
    const a = buildRpmHeaderBlob({ NAME: 'a', VERSION: '1' });
    const b = buildRpmHeaderBlob({ NAME: 'b', VERSION: '2', VENDOR: 'y'.repeat(2000) });
    const db = writeBdbHash([a, b], 512);
    const cut = db.subarray(0, db.length - 512);
    expect(readBdbHashValues(cut).map((v) => parseRpmHeaderBlob(v)?.name)).toEqual(['a']);
    expect(() => readBdbHashValues(Buffer.alloc(4096))).toThrow(BdbFormatError);
  });

  it('survives an overflow chain that loops', () => {
    const a = buildRpmHeaderBlob({ NAME: 'a', VERSION: '1', VENDOR: 'z'.repeat(1200) });
    const db = writeBdbHash([a], 512);
    // Point the last overflow page back at the first one.
    const pages = db.length / 512;
    db.writeUInt32LE(2, (pages - 1) * 512 + 16);
    db.writeUInt16LE(486, (pages - 1) * 512 + 22);
    expect(() => readBdbHashValues(db)).not.toThrow();
  });
});

describe('rpm sqlite (rpmdb.sqlite)', () => {
  it('reads header blobs from the Packages table', async () => {
    const blobs = [buildRpmHeaderBlob({ NAME: 'glibc', VERSION: '2.34', RELEASE: '100.el9', ARCH: 'x86_64' })];
    const db = await writeRpmSqlite(blobs);
    expect(db.subarray(0, 15).toString()).toBe('SQLite format 3');
    const got = await readRpmSqliteBlobs(db);
    expect(got.map((b) => parseRpmHeaderBlob(b)?.name)).toEqual(['glibc']);
  });

  it('reads a database whose header says WAL journal mode, as rpm leaves it', async () => {
    const db = await writeRpmSqlite([buildRpmHeaderBlob({ NAME: 'openssl', VERSION: '3.0.7' })]);
    db[18] = 2; // file format write/read version 2 = WAL
    db[19] = 2;
    expect((await readRpmSqliteBlobs(db)).map((b) => parseRpmHeaderBlob(b)?.name)).toEqual(['openssl']);
  });
});

describe('rpm ndb (Packages.db, SUSE)', () => {
  it('reads the blobs of used slots and skips free ones and cut-off blobs', () => {
    const blobs = [
      buildRpmHeaderBlob({ NAME: 'libzypp', VERSION: '17.31.15', RELEASE: '150400.3.49.1', ARCH: 'x86_64', VENDOR: 'SUSE LLC <https://www.suse.com/>' }),
      buildRpmHeaderBlob({ NAME: 'sles-release', VERSION: '15.5', RELEASE: '150500.58.2' }),
    ];
    const db = writeNdb(blobs);
    expect(readNdbBlobs(db).map((b) => parseRpmHeaderBlob(b)?.name)).toEqual(['libzypp', 'sles-release']);
    expect(readNdbBlobs(db.subarray(0, db.length - 40)).map((b) => parseRpmHeaderBlob(b)?.name)).toEqual(['libzypp']);
    expect(() => readNdbBlobs(Buffer.alloc(64))).toThrow(NdbFormatError);
  });
});

describe('extractPackages', () => {
  it('reads every database kind among the files and skips broken ones', async () => {
    const sqlite = await writeRpmSqlite([buildRpmHeaderBlob({ NAME: 'mssql-server', VERSION: '16.0.4135.4', RELEASE: '1', EPOCH: 0 })]);
    const bdb = writeBdbHash([buildRpmHeaderBlob({ NAME: 'oracle-database-xe-21c', VERSION: '1.0', RELEASE: '1' })]);
    const files = new Map<string, FileEntry>(
      [
        entry('/var/lib/dpkg/status', DPKG),
        entry('/var/lib/dpkg/status.d/tzdata', 'Package: tzdata\nVersion: 2024a-0+deb12u1\n'),
        entry('/var/lib/dpkg/status.d/tzdata.md5sums', 'd41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n'),
        entry('/lib/apk/db/installed', 'P:musl\nV:1.2.4-r2\n'),
        entry('/usr/lib/sysimage/rpm/rpmdb.sqlite', sqlite),
        entry('/var/lib/rpm/Packages', bdb),
        entry('/usr/lib/sysimage/rpm/Packages.db', writeNdb([buildRpmHeaderBlob({ NAME: 'sles-release', VERSION: '15.5', RELEASE: '58.2' })])),
        entry('/usr/lib/sysimage/rpm/Packages', Buffer.from('garbage that is not a database at all, but long enough '.repeat(20))),
        entry('/etc/passwd', 'root:x:0:0::/root:/bin/sh\n'),
      ].map((e) => [e.path, e]),
    );
    const rows = await extractPackages(files);
    expect(rows.map((r) => `${r.manager}:${r.name}@${r.version}`).sort()).toEqual([
      'apk:musl@1.2.4-r2',
      'dpkg:libc6@2.36-9+deb12u4',
      'dpkg:mssql-server@16.0.4135.4-1',
      'dpkg:tzdata@2024a-0+deb12u1',
      'rpm:mssql-server@16.0.4135.4-1',
      'rpm:oracle-database-xe-21c@1.0-1',
      'rpm:sles-release@15.5-58.2',
    ]);
  });

  it('ignores entries without content (not read by the plan) and symlinks', async () => {
    const files = new Map<string, FileEntry>([
      ['/var/lib/dpkg/status', { path: '/var/lib/dpkg/status', kind: 'file', size: 100, mode: 0o644 }],
      ['/var/lib/rpm/Packages', { path: '/var/lib/rpm/Packages', kind: 'symlink', size: 0, mode: 0o777, linkTarget: '../../usr/lib/sysimage/rpm/Packages' }],
    ]);
    expect(await extractPackages(files)).toEqual([]);
  });
});
