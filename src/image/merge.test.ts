import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../model/entry.js';
import { MAX_SYMLINK_HOPS, mergeLayers, resolvePath } from './merge.js';
import { globPlan } from '../../test/support/glob-plan.js';
import type { LayerResult } from './types.js';

function file(path: string, content?: string): FileEntry {
  return { path, kind: 'file', size: content?.length ?? 0, mode: 0o644, ...(content !== undefined ? { content: Buffer.from(content) } : {}) };
}
function link(path: string, target: string): FileEntry {
  return { path, kind: 'symlink', size: 0, mode: 0o777, linkTarget: target };
}
function layer(entries: FileEntry[], whiteouts: string[] = [], opaque: string[] = []): LayerResult {
  return { entries, whiteouts, opaque, warnings: [] };
}

describe('mergeLayers', () => {
  it('later layers win', () => {
    const m = mergeLayers([layer([file('/a', 'one')]), layer([file('/a', 'two')])]);
    expect(m.get('/a')!.content!.toString()).toBe('two');
  });

  it('a whiteout deletes the path and everything under it from lower layers', () => {
    const m = mergeLayers([
      layer([file('/opt/oracle/product/19c/bin/oracle', 'x'), file('/opt/oracle/oraInst.loc', 'y'), file('/opt/other', 'z')]),
      layer([], ['/opt/oracle']),
    ]);
    expect([...m.keys()]).toEqual(['/opt/other']);
  });

  it('a whiteout acts on lower layers only: the same layer may recreate the path', () => {
    const m = mergeLayers([layer([file('/etc/x', 'old'), file('/etc/x/y', 'old')]), layer([file('/etc/x', 'new')], ['/etc/x'])]);
    expect(m.get('/etc/x')!.content!.toString()).toBe('new');
    expect(m.has('/etc/x/y')).toBe(false);
  });

  it('an opaque directory drops lower children but keeps its own', () => {
    const m = mergeLayers([
      layer([file('/var/lib/app/a', '1'), file('/var/lib/app/sub/b', '2'), file('/var/lib/keep', '3')]),
      layer([file('/var/lib/app/c', '4')], [], ['/var/lib/app']),
    ]);
    expect([...m.keys()].sort()).toEqual(['/var/lib/app/c', '/var/lib/keep']);
  });

  it('a file replacing a directory hides what was under it', () => {
    const m = mergeLayers([layer([file('/opt/app/bin/tool', 'x')]), layer([file('/opt/app', 'now a file')])]);
    expect([...m.keys()]).toEqual(['/opt/app']);
  });

  it('a product installed in one layer and removed in a later one is gone', () => {
    const m = mergeLayers([layer([file('/etc/os-release', 'ID=debian')]), layer([file('/opt/mqm/bin/dspmqver', 'MQ 9.3')]), layer([], ['/opt/mqm'])]);
    expect(m.has('/opt/mqm/bin/dspmqver')).toBe(false);
    expect(m.has('/etc/os-release')).toBe(true);
  });

  it('a hard link to a lower layer file gets its content (capped by the link path) and size', () => {
    const plan = globPlan([
      ['/usr/lib/**', 4],
      ['/opt/**', 3],
    ]);
    const target = file('/usr/lib/libx.so', 'abcdefgh');
    const hl: FileEntry = { path: '/opt/libx.so', kind: 'hardlink', size: 0, mode: 0o644, linkTarget: '/usr/lib/libx.so' };
    const m = mergeLayers([layer([target]), layer([hl])], plan);
    expect(m.get('/opt/libx.so')).toMatchObject({ size: 8, truncated: true });
    expect(m.get('/opt/libx.so')!.content!.toString()).toBe('abc');
  });

  it('with a plan keeps only candidates and symlinks', () => {
    const plan = globPlan([['/opt/**', 10]]);
    const m = mergeLayers([layer([file('/opt/a', 'x'), file('/etc/b', 'y'), link('/usr/bin/java', '/opt/java')])], plan);
    expect([...m.keys()].sort()).toEqual(['/opt/a', '/usr/bin/java']);
  });
});

describe('resolvePath', () => {
  const files = new Map<string, FileEntry>(
    [
      link('/usr/bin/java', '/etc/alternatives/java'),
      link('/etc/alternatives/java', '../../usr/lib/jvm/java-17/bin/java'),
      link('/usr/lib/jvm/default', 'java-17'),
      link('/loop/a', 'b'),
      link('/loop/b', 'a'),
      link('/escape', '../../../../etc/passwd'),
    ].map((e) => [e.path, e]),
  );

  it('follows absolute and relative links component by component', () => {
    expect(resolvePath(files, '/usr/bin/java')).toBe('/usr/lib/jvm/java-17/bin/java');
    expect(resolvePath(files, '/usr/lib/jvm/default/release')).toBe('/usr/lib/jvm/java-17/release');
    expect(resolvePath(files, '/plain/path')).toBe('/plain/path');
  });

  it('returns null for a loop instead of hanging', () => {
    expect(resolvePath(files, '/loop/a')).toBeNull();
    expect(resolvePath(files, '/loop/b/x')).toBeNull();
  });

  it('allows a chain of exactly 40 links and no more', () => {
    const chain = new Map<string, FileEntry>();
    for (let i = 0; i < MAX_SYMLINK_HOPS; i++) chain.set(`/l${i}`, link(`/l${i}`, `/l${i + 1}`));
    expect(resolvePath(chain, '/l0')).toBe(`/l${MAX_SYMLINK_HOPS}`);
    chain.set(`/l${MAX_SYMLINK_HOPS}`, link(`/l${MAX_SYMLINK_HOPS}`, '/end'));
    expect(resolvePath(chain, '/l0')).toBeNull();
  });

  it('never leaves the image root', () => {
    expect(resolvePath(files, '/escape')).toBe('/etc/passwd');
  });
});
