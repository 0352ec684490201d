import { describe, expect, it } from 'vitest';
import { liveSourceSettings } from './live-config.js';
import { registrySource } from './registry.js';
import { containerdSource } from './containerd.js';

describe('liveSourceSettings', () => {
  it('hands the containerd flags to the containerd source', async () => {
    const live = liveSourceSettings({ containerdAddress: '/nonexistent/kensus.sock', containerdNamespace: 'ns1' });
    await expect(containerdSource.open('x', { live })).rejects.toThrow(/containerd socket \/nonexistent\/kensus.sock does not exist/);
  });

  it('rejects malformed flags as bad input', () => {
    expect(() => liveSourceSettings({ registryMirror: 'nomirror' })).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => liveSourceSettings({ registryTimeout: 'soon' })).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it('a registry mirror takes all the traffic for its host', async () => {
    const live = liveSourceSettings({ registryMirror: 'reg.example=127.0.0.1:1' });
    // The mirror is a closed loopback port: the error names it, and nothing left the machine.
    await expect(registrySource.open('reg.example/a:1', { live })).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/cannot reach registry reg.example \(mirror 127.0.0.1:1\).*ECONNREFUSED/),
    });
  });

  it('settings are per call: a scan without them gets the defaults', async () => {
    liveSourceSettings({ containerdAddress: '/nonexistent/other.sock' });
    const err = await containerdSource.open('x', { live: { containerd: { address: '/nonexistent/kensus-2.sock' } } }).catch((e: Error) => e);
    expect((err as Error).message).toContain('/nonexistent/kensus-2.sock');
  });
});
