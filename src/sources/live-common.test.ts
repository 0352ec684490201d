import { describe, expect, it } from 'vitest';
import { checkDigest, compressionOf, parseImageConfig, pickPlatform, platformsOf, Semaphore, sha256, splitRef } from './live-common.js';

describe('splitRef', () => {
  it('splits name, tag and digest without mistaking a port for a tag', () => {
    expect(splitRef('127.0.0.1:5000/a/b:1.0')).toEqual({ repo: '127.0.0.1:5000/a/b', tag: '1.0', digest: undefined });
    expect(splitRef('127.0.0.1:5000/a/b')).toEqual({ repo: '127.0.0.1:5000/a/b', tag: undefined, digest: undefined });
    expect(splitRef(`busybox@sha256:${'a'.repeat(64)}`)).toEqual({ repo: 'busybox', tag: undefined, digest: `sha256:${'a'.repeat(64)}` });
  });
});

describe('pickPlatform', () => {
  const index = {
    manifests: [
      { mediaType: 'm', digest: 'sha256:1', size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: 'm', digest: 'sha256:2', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'm', digest: 'sha256:3', size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  };
  it('defaults to linux/amd64, honours variants, and lists what is offered', () => {
    expect(pickPlatform(index)?.digest).toBe('sha256:2');
    expect(pickPlatform(index, 'linux/arm64')?.digest).toBe('sha256:3');
    expect(pickPlatform(index, 'linux/arm/v7')?.digest).toBe('sha256:1');
    expect(pickPlatform(index, 'windows/amd64')).toBeUndefined();
    expect(platformsOf(index)).toBe('linux/arm/v7, linux/amd64, linux/arm64/v8');
  });
});

describe('parseImageConfig', () => {
  it('reads OCI and docker-inspect spellings', () => {
    const c = parseImageConfig({ architecture: 'amd64', os: 'linux', config: { Labels: { a: 'b' }, Env: ['X=1', 'Y=a=b', 'bad'] }, rootfs: { diff_ids: ['sha256:1'] } });
    expect(c).toMatchObject({ labels: { a: 'b' }, env: { X: '1', Y: 'a=b' }, diffIds: ['sha256:1'], os: 'linux' });
    expect(parseImageConfig({ Config: { Labels: null, Env: null }, RootFS: { Layers: ['sha256:2'] } })).toMatchObject({ labels: {}, env: {}, diffIds: ['sha256:2'] });
  });
});

describe('digests and media types', () => {
  it('checks a digest and names the mismatch', () => {
    const data = Buffer.from('x');
    expect(() => checkDigest(data, sha256(data), 'config')).not.toThrow();
    expect(() => checkDigest(data, sha256('y'), 'config')).toThrow(/config: content digest sha256:[0-9a-f]{64} does not match/);
  });
  it('knows the layer compressions', () => {
    expect(compressionOf('application/vnd.oci.image.layer.v1.tar+gzip')).toBe('gzip');
    expect(compressionOf('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(compressionOf('application/vnd.oci.image.layer.v1.tar+zstd')).toBe('zstd');
    expect(compressionOf('application/vnd.oci.image.layer.v1.tar')).toBe('none');
  });
});

describe('Semaphore', () => {
  it('never lets more than its size through', async () => {
    const sem = new Semaphore(2);
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const release = await sem.acquire();
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        release();
        release(); // a second release is harmless
      }),
    );
    expect(peak).toBe(2);
  });
});
