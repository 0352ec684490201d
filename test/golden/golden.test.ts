import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanImageRef } from '../../src/scan/image.js';
import { writeDockerArchive, writeOciArchive, writeOciLayout } from '../../src/fixtures/image-writer.js';
import { fixtureSubject } from '../support/fixture-subject.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { loadSignatureSet } from '../../src/signatures/load.js';
import { matchSubject } from '../../src/signatures/match.js';

// Byte-identical outputs across refactors: every signature fixture through the in-memory subject
// and every offline source (docker-archive, oci-archive and oci layout, each compression), and the
// demo's JSON, compared with the committed files in test/golden/. Only what differs between runs by
// nature is normalised: scannedAt, the tool version and temp paths.
// KENSUS_UPDATE_GOLDEN=1 rewrites the files (a change of output must be a reviewed diff of them).
const update = process.env.KENSUS_UPDATE_GOLDEN === '1';
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.join(here, '..', '..');
const set = await loadSignatureSet();
const fixtures = await loadFixtures();
const dir = await mkdtemp(path.join(os.tmpdir(), 'kensus-golden-'));
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Fx = (typeof fixtures)[number];
const SOURCES: { name: string; write: (f: Fx, p: string) => Promise<void>; ref: (p: string) => string }[] = [
  { name: 'docker-archive', write: (f, p) => writeDockerArchive(f, `${p}.tar`), ref: (p) => `docker-archive:${p}.tar` },
  { name: 'docker-archive oci', write: (f, p) => writeDockerArchive(f, `${p}.ocid.tar`, { format: 'oci' }), ref: (p) => `docker-archive:${p}.ocid.tar` },
  { name: 'docker-archive gzip', write: (f, p) => writeDockerArchive(f, `${p}.gz.tar`, { compression: 'gzip' }), ref: (p) => `docker-archive:${p}.gz.tar` },
  ...(['none', 'gzip', 'zstd'] as const).flatMap((compression) => [
    { name: `oci-archive ${compression}`, write: (f: Fx, p: string) => writeOciArchive(f, `${p}.${compression}.oci.tar`, { compression }), ref: (p: string) => `oci-archive:${p}.${compression}.oci.tar` },
    { name: `oci layout ${compression}`, write: (f: Fx, p: string) => writeOciLayout(f, `${p}.${compression}.layout`, { compression }), ref: (p: string) => `oci:${p}.${compression}.layout` },
  ]),
];

function normalise(json: string): string {
  return json.split(dir).join('$TMP');
}

async function compare(file: string, actual: string): Promise<void> {
  const at = path.join(here, file);
  if (update) await writeFile(at, actual);
  const want = await readFile(at, 'utf8').catch(() => {
    throw new Error(`${at} is missing: run with KENSUS_UPDATE_GOLDEN=1 once and commit it`);
  });
  expect(actual, `${file} differs from the committed golden output`).toBe(want);
}

describe('golden outputs', () => {
  it('every fixture through the matcher and every offline source', async () => {
    const cases: Record<string, unknown> = {};
    for (const fixture of fixtures) {
      const key = `${fixture.signature}/${fixture.name}`;
      cases[`${key} subject`] = matchSubject(set, await fixtureSubject(fixture, set.plan));
      const base = path.join(dir, `${fixture.signature}--${fixture.name}`);
      for (const source of SOURCES) {
        await source.write(fixture, base);
        cases[`${key} ${source.name}`] = await scanImageRef(source.ref(base), { set, cacheDir: null });
      }
    }
    await compare('fixture-scans.json', `${normalise(JSON.stringify(cases, null, 1))}\n`);
  }, 600_000);

  it('the demo, as users run it (built CLI, --format json)', async () => {
    const keep = path.join(dir, 'demo');
    const r = spawnSync(process.execPath, ['bin/kensus.js', 'demo', '--format', 'json', '--keep', keep], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    report.scannedAt = '$SCANNED_AT';
    report.tool.version = '$VERSION';
    await compare('demo.json', `${normalise(JSON.stringify(report, null, 1))}\n`);
  }, 300_000);
});
