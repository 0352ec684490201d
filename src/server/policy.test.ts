import { describe, expect, it } from 'vitest';
import { KensusError } from '../errors.js';
import { parsePolicy } from './policy.js';

describe('admission policy', () => {
  it('reads a policy with defaults for what it leaves out', () => {
    const p = parsePolicy('mode: deny\ndeny: [oracle-database]\nrequireEntitlement: true\n');
    expect(p).toEqual({
      mode: 'deny',
      deny: ['oracle-database'],
      warn: [],
      requireEntitlement: true,
      requireIbmAnnotations: true,
      excludeNamespaces: ['kube-system'],
    });
    expect(parsePolicy('namespaces: { exclude: [infra] }').excludeNamespaces).toEqual(['infra']);
  });

  it.each([
    ['mode: block', /mode must be warn or deny, not 'block'/],
    ['deny: oracle-database', /deny must be a list of product ids/],
    ['requireEntitlement: yes please', /requireEntitlement must be true or false/],
    ['denny: [x]', /unknown field 'denny'/],
    ['mode: [', /not valid YAML/],
    ['- a\n- b', /expected a mapping/],
  ])('rejects %j with a message that says what to fix', (text, message) => {
    let err: unknown;
    try {
      parsePolicy(text, 'policy.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(2);
    expect((err as KensusError).message).toMatch(/^policy\.yaml: /);
    expect((err as KensusError).message).toMatch(message);
  });
});
