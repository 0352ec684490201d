import { afterEach, describe, expect, it } from 'vitest';
import { configureLiveSources } from './live-config.js';
import { registrySource, resetRegistrySettings } from './registry.js';
import { containerdSource, resetContainerdSettings } from './containerd.js';

afterEach(() => {
  resetRegistrySettings();
  resetContainerdSettings();
});

describe('configureLiveSources', () => {
  it('hands the containerd flags to the containerd source', async () => {
    configureLiveSources({ containerdAddress: '/nonexistent/kensus.sock', containerdNamespace: 'ns1' });
    await expect(containerdSource.open('x', {})).rejects.toThrow(/containerd socket \/nonexistent\/kensus.sock does not exist/);
  });

  it('rejects malformed flags as bad input', () => {
    expect(() => configureLiveSources({ registryMirror: 'nomirror' })).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => configureLiveSources({ registryTimeout: 'soon' })).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it('a registry mirror takes all the traffic for its host', async () => {
    configureLiveSources({ registryMirror: 'reg.example=127.0.0.1:1' });
    // The mirror is a closed loopback port: the error names it, and nothing left the machine.
    await expect(registrySource.open('reg.example/a:1', {})).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/cannot reach registry reg.example \(mirror 127.0.0.1:1\).*ECONNREFUSED/),
    });
  });
});
