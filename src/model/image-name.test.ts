import { describe, expect, it } from 'vitest';
import { imageRepository, repository, splitImageName, withDigest, withoutDigest } from './image-name.js';

describe('splitImageName', () => {
  it('splits name, tag and digest without mistaking a port for a tag', () => {
    expect(splitImageName('127.0.0.1:5000/a/b:1.0')).toEqual({ repo: '127.0.0.1:5000/a/b', tag: '1.0', digest: undefined });
    expect(splitImageName('127.0.0.1:5000/a/b')).toEqual({ repo: '127.0.0.1:5000/a/b', tag: undefined, digest: undefined });
    expect(splitImageName(`busybox@sha256:${'a'.repeat(64)}`)).toEqual({ repo: 'busybox', tag: undefined, digest: `sha256:${'a'.repeat(64)}` });
  });
});

describe('repository, withDigest, withoutDigest', () => {
  it('take tags and digests off the way the old inline rules did', () => {
    const d = `sha256:${'c'.repeat(64)}`;
    expect(repository('127.0.0.1:5000/team/app:1')).toBe('127.0.0.1:5000/team/app');
    expect(repository('127.0.0.1:5000/team/app')).toBe('127.0.0.1:5000/team/app');
    expect(repository(`redis:7@${d}`)).toBe('redis');
    expect(withDigest('redis:7', d)).toBe(`redis@${d}`);
    expect(withoutDigest(`redis:7@${d}`)).toBe('redis:7');
    expect(withoutDigest('redis:7')).toBe('redis:7');
    expect(imageRepository(' docker.io/library/redis:7 ')).toBe('redis');
  });
});
