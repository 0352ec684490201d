import { describe, expect, it } from 'vitest';
import { checkDigest, compressionOf, parseImageConfig, pickPlatform, platformsOf } from './live-common.js';
import { sha256 } from '../image/oci.js';

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
