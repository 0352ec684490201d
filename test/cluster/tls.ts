import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../support/daemons.js';

export interface TlsMaterial {
  caCert: string;
  cert: string;
  key: string;
}

/**
 * A throw-away CA and a leaf certificate for the given DNS names and IPs, made with Debian's
 * openssl CLI (node:crypto cannot sign X.509). EC keys keep it well under a second.
 */
export function makeTls(dnsNames: string[], ips: string[] = ['127.0.0.1'], commonName = 'kensus-test'): TlsMaterial {
  const openssl = requireBinary('openssl', 'openssl');
  const dir = mkdtempSync(join(tmpdir(), 'kensus-tls-'));
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
    run(['req', '-x509', '-new', '-key', 'ca.key', '-subj', `/CN=${commonName}-ca`, '-days', '2', '-out', 'ca.crt',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key']);
    run(['req', '-new', '-key', 'leaf.key', '-subj', `/CN=${commonName}`, '-out', 'leaf.csr']);
    const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)].join(',');
    writeFileSync(join(dir, 'ext.cnf'),
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`);
    run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
      '-extfile', 'ext.cnf', '-out', 'leaf.crt']);
    return {
      caCert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(dir, 'leaf.crt'), 'utf8'),
      key: readFileSync(join(dir, 'leaf.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
