import { describe, expect, it } from 'vitest';
import { isLoopbackHost, parseRegistryRef } from './registry.js';

describe('parseRegistryRef', () => {
  it('resolves Docker Hub names the way docker does', () => {
    expect(parseRegistryRef('busybox')).toEqual({ host: 'docker.io', apiHost: 'registry-1.docker.io', repo: 'library/busybox', tag: 'latest', digest: undefined });
    expect(parseRegistryRef('ibmcom/mq:9.3')).toMatchObject({ host: 'docker.io', repo: 'ibmcom/mq', tag: '9.3' });
    expect(parseRegistryRef('index.docker.io/library/redis:7')).toMatchObject({ host: 'docker.io', repo: 'library/redis', tag: '7' });
  });
  it('keeps hosts with a dot, a port or localhost', () => {
    expect(parseRegistryRef('nvcr.io/nvaie/pytorch:24.08')).toMatchObject({ host: 'nvcr.io', apiHost: 'nvcr.io', repo: 'nvaie/pytorch', tag: '24.08' });
    expect(parseRegistryRef('127.0.0.1:5000/a/b')).toMatchObject({ host: '127.0.0.1:5000', repo: 'a/b', tag: 'latest' });
    const d = `sha256:${'e'.repeat(64)}`;
    expect(parseRegistryRef(`localhost/x@${d}`)).toMatchObject({ host: 'localhost', repo: 'x', tag: undefined, digest: d });
  });
  it('rejects bad names as bad input (exit 2)', () => {
    for (const bad of ['', 'a b', 'Upper/Case', 'x@sha256:short', 'x:bad/tag:', 'x:.bad']) {
      expect(() => parseRegistryRef(bad), bad).toThrow(expect.objectContaining({ exitCode: 2 }));
    }
  });
});

describe('isLoopbackHost', () => {
  it('allows plain HTTP only to loopback by name', () => {
    expect(isLoopbackHost('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('[::1]:5000')).toBe(true);
    expect(isLoopbackHost('0.0.0.0:5000')).toBe(false);
    expect(isLoopbackHost('10.0.0.1:5000')).toBe(false);
    expect(isLoopbackHost('127.0.0.1.example.com')).toBe(false);
  });
});
