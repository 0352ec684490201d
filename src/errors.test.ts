import { describe, expect, it } from 'vitest';
import { badInput, describeError, redactDeep, redactSecrets } from './errors.js';

describe('credentials in text from outside', () => {
  const cases: Array<[string, string]> = [
    ['denied for Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.c2ln', 'denied for Authorization: Bearer [redacted]'],
    ['Basic dXNlcjpodW50ZXIy rejected', 'Basic [redacted] rejected'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abcdefghij leaked', 'token [redacted] leaked'],
    ['fetch https://robot:hunter2@registry.example.com/v2/ failed', 'fetch https://[redacted]@registry.example.com/v2/ failed'],
    ['{"token":"abc123xyz","expires_in":300}', '{"token":"[redacted]","expires_in":300}'],
    ['GET /token?service=x&access_token=s3cr3t&scope=y', 'GET /token?service=x&access_token=[redacted]&scope=y'],
    ['password=hunter2 in config', 'password=[redacted] in config'],
  ];
  for (const [text, want] of cases) it(`redacts ${JSON.stringify(text.slice(0, 30))}`, () => expect(redactSecrets(text)).toBe(want));

  it('leaves plain messages alone', () => {
    const plain = 'registry 127.0.0.1:5000 answered 401 without a WWW-Authenticate challenge (manifest)';
    expect(redactSecrets(plain)).toBe(plain);
  });

  it('a path or a dotted field that ends in a credential word is not a key', () => {
    for (const plain of ['cannot spool "../etc/passwd": not a plain file name', 'read /etc/passwd: permission denied', 'app.token: must be a string']) expect(redactSecrets(plain)).toBe(plain);
    expect(redactSecrets('{"auth": "dXNlcjpw"}')).toBe('{"auth": "[redacted]"}');
  });

  it('KensusError messages and hints, and describeError of any error, are redacted', () => {
    expect(describeError(badInput('registry said: Bearer abcdefghijkl', 'retry with token=abcdef'))).toBe('registry said: Bearer [redacted] (retry with token=[redacted])');
    expect(describeError(new Error('Authorization: Basic dXNlcjpwYXNzd29yZA=='))).toMatch(/^internal error: Authorization: Basic \[redacted\]/);
  });

  it('redacts nested objects at any depth, errors included, and stays bounded', () => {
    let deep: Record<string, unknown> = { token: 'deepest-secret', note: 'Bearer abcdefghijklmnop' };
    for (let i = 0; i < 12; i++) deep = { level: i, inner: deep };
    const err = Object.assign(new Error('registry said Bearer zyxwvutsrqponm'), { response: { headers: { Authorization: 'Bearer zyxwvutsrqponm' } } });
    const cyclic: Record<string, unknown> = { password: 'p4ss' };
    cyclic.self = cyclic;
    const out = JSON.stringify(redactDeep({ deep, err, cyclic, list: [{ auth: 'YWJj' }] }));
    for (const secret of ['deepest-secret', 'abcdefghijklmnop', 'zyxwvutsrqponm', 'p4ss', 'YWJj']) expect(out).not.toContain(secret);
    expect(out).toContain('[circular]');
    expect(out).toContain('"level":0');
  });
});
