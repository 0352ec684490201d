import { describe, expect, it } from 'vitest';
import { matchesSelector, parseSelector } from './selector.js';
import { KensusError } from '../errors.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  it('matches equality, inequality, sets and existence like the API server', () => {
    expect(matchesSelector(labels, parseSelector('app=web'))).toBe(true);
    expect(matchesSelector(labels, parseSelector('app==web,tier!=db'))).toBe(true);
    expect(matchesSelector(labels, parseSelector('env in (prod, stage)'))).toBe(true);
    expect(matchesSelector(labels, parseSelector('env notin (prod)'))).toBe(false);
    expect(matchesSelector(labels, parseSelector('app,!legacy'))).toBe(true);
    expect(matchesSelector(labels, parseSelector('missing'))).toBe(false);
    expect(matchesSelector(labels, parseSelector('app=db'))).toBe(false);
  });
  it('rejects a malformed selector with a hint', () => {
    expect(() => parseSelector('app=(x')).toThrow(KensusError);
    let caught: unknown = null;
    try {
      parseSelector('a b c');
    } catch (err) {
      caught = err;
    }
    expect((caught as KensusError).exitCode).toBe(2);
    expect((caught as KensusError).hint).toMatch(/key=value/);
  });
});
