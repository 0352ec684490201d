#!/usr/bin/env node
// The krew release of `kubectl kensus`:
//
//   node deploy/krew/release.mjs --tarball kensus-X.Y.Z.tgz --uri-base URL --out DIR
//
// installs the npm package (`npm pack`'s tarball) with its production dependencies into an empty
// folder, packs that folder's node_modules/ as DIR/kubectl-kensus-vX.Y.Z.tar.gz, and writes the
// manifest (kensus.yaml beside this script, filled in) as DIR/kensus.yaml, its uri being
// URL/kubectl-kensus-vX.Y.Z.tar.gz — where the release will publish the archive.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { tarball: { type: 'string' }, 'uri-base': { type: 'string' }, out: { type: 'string' } } });
if (!values.tarball || !values['uri-base'] || !values.out) {
  process.stderr.write('usage: release.mjs --tarball kensus-X.Y.Z.tgz --uri-base URL --out DIR (the tarball from `npm pack`)\n');
  process.exit(2);
}
const tarball = resolve(values.tarball);
const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
const version = `v${manifest.version}`;
const out = resolve(values.out);
mkdirSync(out, { recursive: true });

const prefix = mkdtempSync(join(tmpdir(), 'kensus-krew-'));
try {
  writeFileSync(join(prefix, 'package.json'), '{"private":true}\n');
  execFileSync('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', tarball], { cwd: prefix, stdio: ['ignore', 'ignore', 'inherit'] });
  const name = `kubectl-kensus-${version}.tar.gz`;
  const archive = join(out, name);
  // Sorted, owner-free entries, so that the same install gives the same archive.
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=1970-01-01', '-czf', archive, 'node_modules'], { cwd: prefix, env: { ...process.env, GZIP: '-n' } });
  const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
  const template = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'kensus.yaml'), 'utf8');
  const filled = template
    .replaceAll('{{ .Version }}', version)
    .replaceAll('{{ .URI }}', `${values['uri-base'].replace(/\/$/, '')}/${name}`)
    .replaceAll('{{ .Sha256 }}', sha256);
  writeFileSync(join(out, 'kensus.yaml'), filled);
  process.stdout.write(`${archive}\n${join(out, 'kensus.yaml')}\nsha256 ${sha256}\n`);
} finally {
  rmSync(prefix, { recursive: true, force: true });
}
