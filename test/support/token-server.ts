import { createServer } from 'node:http';
import { createSign, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * A small Bearer token server for the docker-registry token auth test variant (the Docker
 * registry token spec): checks Basic credentials, then signs a JWT (RS256, x5c header with the
 * certificate that the registry's rootcertbundle trusts) granting the requested scope.
 * Usage: node --import tsx token-server.ts PORT KEY CERT USER PASSWORD
 */
const [portArg, keyFile, certFile, user, password] = process.argv.slice(2);
const key = readFileSync(keyFile, 'utf8');
const certDer = new X509Certificate(readFileSync(certFile)).raw.toString('base64');

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function sign(claims: object): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer] }));
  const body = b64url(JSON.stringify(claims));
  const s = createSign('RSA-SHA256').update(`${header}.${body}`).sign(key);
  return `${header}.${body}.${b64url(s)}`;
}

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') {
    res.end('ok');
    return;
  }
  if (url.pathname !== '/token') {
    res.statusCode = 404;
    res.end();
    return;
  }
  const auth = req.headers.authorization ?? '';
  const given = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : '';
  if (given !== `${user}:${password}`) {
    res.statusCode = 401;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    return;
  }
  const access = url.searchParams.getAll('scope').flatMap((scope) => {
    const [type, name, actions] = scope.split(':');
    return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
  });
  const now = Math.floor(Date.now() / 1000);
  const token = sign({
    iss: 'kensus-test-issuer',
    sub: user,
    aud: url.searchParams.get('service') ?? '',
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access,
  });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
}).listen(Number(portArg), '127.0.0.1');
