import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanImageRef } from '../image/scan.js';
import { writeDockerArchive, writeOciArchive, writeOciLayout } from '../image/write.js';
import { loadFixtures } from './fixtures.js';
import { loadSignatureSet } from './load.js';

// The same fixtures as fixtures.test.ts, but as real image archives read by the real sources:
// proves the signatures (probe plan, byte caps, package databases, whiteouts) through
// docker-archive (uncompressed, skip-read), oci-archive with zstd layers and an OCI layout with gzip.
const set = await loadSignatureSet();
const fixtures = await loadFixtures();
const dir = await mkdtemp(path.join(os.tmpdir(), 'kensus-fixture-archives-'));
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FORMATS = [
  { name: 'docker-archive', write: (f: (typeof fixtures)[number], p: string) => writeDockerArchive(f, `${p}.tar`), ref: (p: string) => `docker-archive:${p}.tar` },
  { name: 'oci-archive zstd', write: (f: (typeof fixtures)[number], p: string) => writeOciArchive(f, `${p}.oci.tar`, { compression: 'zstd' }), ref: (p: string) => `oci-archive:${p}.oci.tar` },
  { name: 'oci layout gzip', write: (f: (typeof fixtures)[number], p: string) => writeOciLayout(f, `${p}.layout`, { compression: 'gzip' }), ref: (p: string) => `oci:${p}.layout` },
];

describe('signature fixtures as image archives', () => {
  for (const fixture of fixtures) {
    it(`${fixture.signature}/${fixture.name}`, async () => {
      const base = path.join(dir, `${fixture.signature}--${fixture.name}`);
      for (const format of FORMATS) {
        await format.write(fixture, base);
        const report = await scanImageRef(format.ref(base), { set, cacheDir: null });
        const ids = report.products.map((p) => p.id);
        for (const want of fixture.expect) {
          const got = report.products.find((p) => p.id === want.id);
          expect(got, `${format.name}: ${want.id} in ${JSON.stringify(ids)}`).toBeDefined();
          if (want.edition !== undefined) expect(got!.edition, format.name).toBe(want.edition);
          if (want.version !== undefined) expect(got!.version, format.name).toBe(want.version);
          if (want.licensable !== undefined) expect(got!.licensable, format.name).toBe(want.licensable);
        }
        for (const id of fixture.absent ?? []) expect(ids, `${format.name}: ${id} must be absent`).not.toContain(id);
      }
    });
  }
});
