import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';

describe('patches', () => {
  it('merge patch merges objects and deletes nulls', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1] }, { b: { c: null, e: 4 }, l: [2] })).toEqual({ a: 1, b: { d: 3, e: 4 }, l: [2] });
  });
  it('strategic merge patch merges container lists by name and drops directives', () => {
    const pod = { spec: { containers: [{ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1' }] } };
    const patch = { spec: {'containers': [{ name: 'b', image: 'y:2' }], '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }] } };
    const out = strategicMergePatch(pod, patch);
    expect(out.spec.containers).toEqual([{ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:2' }]);
    expect(strategicMergePatch(pod, { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }).spec.containers).toEqual([{ name: 'b', image: 'y:1' }]);
  });
  it('json patch applies add, replace, remove and test', () => {
    const out = jsonPatch({ metadata: { labels: { a: '1' } }, l: [1, 2] }, [
      { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
      { op: 'replace', path: '/l/0', value: 9 },
      { op: 'remove', path: '/l/1' },
      { op: 'test', path: '/metadata/labels/a', value: '1' },
    ]);
    expect(out).toEqual({ metadata: { labels: { a: '1', 'b/c': '2' } }, l: [9] });
    expect(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(/testing value/);
  });
});
