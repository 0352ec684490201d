import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { credentialsFor, normaliseRegistryHost, parsePullSecret, readPullSecret } from './registry-auth.js';

const dir = mkdtempSync(join(tmpdir(), 'kensus-auth-'));
const b64 = (s: string) => Buffer.from(s).toString('base64');
const savedPath = process.env.PATH;

afterEach(() => {
  process.env.PATH = savedPath;
});

describe('normaliseRegistryHost', () => {
  it('strips scheme and path and folds the Docker Hub aliases', () => {
    expect(normaliseRegistryHost('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseRegistryHost('registry-1.docker.io')).toBe('docker.io');
    expect(normaliseRegistryHost('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
    expect(normaliseRegistryHost('Quay.IO')).toBe('quay.io');
  });
});

describe('parsePullSecret', () => {
  const cfg = { auths: { 'reg.example:5000': { auth: b64('u:p') } } };

  it('reads a kubernetes.io/dockerconfigjson Secret in YAML (data, base64)', () => {
    const yaml = `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${b64(JSON.stringify(cfg))}\n`;
    expect(parsePullSecret(yaml, 's.yaml')).toEqual(cfg);
  });

  it('reads a Secret in JSON with stringData, a legacy .dockercfg, and a raw config.json', () => {
    const json = JSON.stringify({ kind: 'Secret', stringData: { '.dockerconfigjson': JSON.stringify(cfg) } });
    expect(parsePullSecret(json, 's.json')).toEqual(cfg);
    const legacy = JSON.stringify({ kind: 'Secret', type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64(JSON.stringify(cfg.auths)) } });
    expect(parsePullSecret(legacy, 'l.json')).toEqual(cfg);
    expect(parsePullSecret(JSON.stringify(cfg), 'config.json')).toEqual(cfg);
  });

  it('says what is wrong with a file that is no pull secret (exit 2)', () => {
    expect(() => parsePullSecret('kind: Secret\ndata:\n  token: eA==\n', 'x.yaml')).toThrow(/no .dockerconfigjson or .dockercfg key/);
    expect(() => parsePullSecret('[1, 2', 'x.yaml')).toThrow(/neither YAML nor JSON/);
    expect(() => parsePullSecret('hello: world\n', 'x.yaml')).toThrow(/not a pull secret/);
    expect(() => readPullSecret(join(dir, 'missing.yaml'))).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining('ENOENT') }));
  });
});

describe('credentialsFor', () => {
  it('orders pull secrets, docker config auths and credential helpers, naming only their origin', async () => {
    const secret = join(dir, 'secret.json');
    writeFileSync(secret, JSON.stringify({ auths: { 'https://reg.example:5000/v1/': { username: 'a', password: 'pa' } } }));
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        auths: { 'reg.example:5000': { auth: b64('b:pb') }, other: { auth: b64('x:y') } },
        credHelpers: { 'reg.example:5000': 'kensustest' },
        credsStore: 'kensusstore',
      }),
    );
    // Real helper binaries on PATH, speaking docker's credential-helper protocol.
    const bin = join(dir, 'bin');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'docker-credential-kensustest'), '#!/bin/sh\nread server\n[ "$server" = "reg.example:5000" ] && echo \'{"ServerURL":"reg.example:5000","Username":"c","Secret":"pc"}\' && exit 0\necho "credentials not found" >&2; exit 1\n');
    writeFileSync(join(bin, 'docker-credential-kensusstore'), '#!/bin/sh\nread server\necho \'{"ServerURL":"x","Username":"<token>","Secret":"refresh-tok"}\'\n');
    chmodSync(join(bin, 'docker-credential-kensustest'), 0o755);
    chmodSync(join(bin, 'docker-credential-kensusstore'), 0o755);
    process.env.PATH = `${bin}:${savedPath}`;
    const creds = await credentialsFor('reg.example:5000', { pullSecrets: [secret], dockerConfig: config });
    expect(creds).toEqual([
      { origin: `pull secret ${secret}`, username: 'a', password: 'pa' },
      { origin: `docker config ${config}`, username: 'b', password: 'pb' },
      { origin: 'credential helper docker-credential-kensustest', username: 'c', password: 'pc' },
      { origin: 'credential store docker-credential-kensusstore', identityToken: 'refresh-tok' },
    ]);
    for (const c of creds) expect(c.origin).not.toMatch(/pa|pb|pc|refresh-tok/);
  });

  it('skips a helper that is not installed and a config that is not there', async () => {
    const config = join(dir, 'config2.json');
    writeFileSync(config, JSON.stringify({ credsStore: 'not-installed-anywhere' }));
    expect(await credentialsFor('reg.example', { dockerConfig: config })).toEqual([]);
    expect(await credentialsFor('reg.example', { dockerConfig: join(dir, 'nope.json') })).toEqual([]);
  });
});
