import { describe, expect, it } from 'vitest';
import { labelSelectorObject, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';

describe('label selectors', () => {
  const labels = { app: 'db', tier: 'back', 'kensus.io/x': '1' };
  it('matches equality, inequality, set and existence terms', () => {
    expect(parseLabelSelector('app=db')(labels)).toBe(true);
    expect(parseLabelSelector('app==db,tier!=front')(labels)).toBe(true);
    expect(parseLabelSelector('app in (web, db),kensus.io/x')(labels)).toBe(true);
    expect(parseLabelSelector('app notin (db)')(labels)).toBe(false);
    expect(parseLabelSelector('!missing')(labels)).toBe(true);
    expect(parseLabelSelector('missing')(labels)).toBe(false);
    expect(parseLabelSelector('')(undefined)).toBe(true);
  });
  it('rejects syntax it does not understand', () => {
    expect(() => parseLabelSelector('app=(x')).toThrow(SelectorError);
  });
  it('matches LabelSelector objects', () => {
    expect(labelSelectorObject({ matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] })(labels)).toBe(true);
    expect(labelSelectorObject({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] })(labels)).toBe(false);
    expect(labelSelectorObject(undefined)(labels)).toBe(true);
  });
});

describe('field selectors', () => {
  const pod = { metadata: { name: 'p1', namespace: 'a' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  const allowed = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase'];
  it('matches = and != on allowed fields', () => {
    expect(parseFieldSelector('spec.nodeName=n1,status.phase!=Failed', allowed)(pod)).toBe(true);
    expect(parseFieldSelector('metadata.name==p2', allowed)(pod)).toBe(false);
  });
  it('rejects unsupported fields like the real server', () => {
    expect(() => parseFieldSelector('spec.hostname=x', allowed)).toThrow(/field label not supported: spec.hostname/);
  });
});
