import { describe, expect, it } from 'vitest';
import { beaconSettingsFromConfig, resolveBeaconSettings } from './settings.js';

const readSecret = async (p: string) => `secret-of-${p}`;
const readCa = async (p: string) => `ca-of-${p}`;

describe('beacon settings', () => {
  it('none configured: no beacon', async () => {
    expect(await resolveBeaconSettings({}, {}, 'k.yaml', '/spool', readSecret, readCa, {})).toBeNull();
  });

  it('defaults: PUT, mustUpload false (the reference default), the given spool', async () => {
    expect(await resolveBeaconSettings({ beaconUrl: 'https://beacon.example.com/ManageSoftRL/Inventories' }, {}, 'k.yaml', '/spool', readSecret, readCa, {})).toEqual({
      url: 'https://beacon.example.com/ManageSoftRL/Inventories', token: undefined, method: 'PUT', mustUpload: false, spoolDir: '/spool', ca: undefined,
    });
  });

  it('BEACON_URL and BEACON_TOKEN as the Flexera manifests set them', async () => {
    const s = await resolveBeaconSettings({}, {}, 'k.yaml', '/spool', readSecret, readCa, { BEACON_URL: 'https://beacon.example.com', BEACON_TOKEN: 'tok\n' });
    expect([s?.url, s?.token]).toEqual(['https://beacon.example.com', 'tok']);
  });

  it('a KRM resource: spec.node.mustUpload; flags win over the file', async () => {
    const doc = { spec: { beacon: { url: 'https://b.example.com/in', method: 'post', tokenFile: '/t' }, node: { mustUpload: true } } };
    expect(beaconSettingsFromConfig(doc, 'k.yaml')).toEqual({ url: 'https://b.example.com/in', method: 'POST', tokenFile: '/t', mustUpload: true });
    const s = await resolveBeaconSettings({ mustUpload: false, beaconMethod: 'PUT' }, doc, 'k.yaml', '/spool', readSecret, readCa, {});
    expect(s).toEqual({ url: 'https://b.example.com/in', token: 'secret-of-/t', method: 'PUT', mustUpload: false, spoolDir: '/spool', ca: undefined });
  });

  it('bad values are named', async () => {
    expect(() => beaconSettingsFromConfig({ beacon: { url: 'ftp://x' } }, 'k.yaml')).toThrow('k.yaml: beacon.url must be http(s): ftp://x');
    expect(() => beaconSettingsFromConfig({ beacon: { method: 'PATCH' } }, 'k.yaml')).toThrow('k.yaml: beacon.method must be PUT or POST');
    expect(() => beaconSettingsFromConfig({ beacon: { mustupload: true } }, 'k.yaml')).toThrow('k.yaml: unknown setting beacon.mustupload');
    await expect(resolveBeaconSettings({ mustUpload: true }, {}, 'k.yaml', '/spool', readSecret, readCa, {})).rejects.toThrow('beacon settings without a beacon URL');
    await expect(resolveBeaconSettings({ beaconUrl: 'https://u:p@b' }, {}, 'k.yaml', '/spool', readSecret, readCa, {})).rejects.toThrow('--beacon-url must not carry credentials');
  });
});
