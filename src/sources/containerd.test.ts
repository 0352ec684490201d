import { describe, expect, it } from 'vitest';
import { chainIds, layerDirsFromMounts } from './containerd.js';

import { sha256 } from '../image/oci.js';

describe('chainIds', () => {
  it('follows the OCI chain ID definition', () => {
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    const c = `sha256:${'c'.repeat(64)}`;
    const ab = sha256(`${a} ${b}`);
    expect(chainIds([a, b, c])).toEqual([a, ab, sha256(`${ab} ${c}`)]);
    expect(chainIds([])).toEqual([]);
  });
});

describe('layerDirsFromMounts', () => {
  it('lists overlay lowerdirs bottom first, and a bind mount as one layer', () => {
    expect(layerDirsFromMounts([{ type: 'overlay', source: 'overlay', options: ['index=off', 'lowerdir=/s/3/fs:/s/2/fs:/s/1/fs'] }])).toEqual(['/s/1/fs', '/s/2/fs', '/s/3/fs']);
    expect(layerDirsFromMounts([{ type: 'bind', source: '/s/1/fs', options: ['ro', 'rbind'] }])).toEqual(['/s/1/fs']);
    expect(layerDirsFromMounts([])).toEqual([]);
  });
});
