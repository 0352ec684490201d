import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { endpointFromSettings, mergeSettings, missingValues, readSecretFile, resolveIbmLicenseServiceSettings, settingsFromConfig } from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'kensus-ils-settings-'));

describe('License Service settings', () => {
  it('defaults as the reference says: enable false, tlsVerify false, nothing else', () => {
    expect(mergeSettings()).toEqual({ enable: false, tlsVerify: false });
  });

  it('reads a Flexera KRM resource as it is (spec.ibmLicensing), with the reference example values', async () => {
    const krm = parse(`
apiVersion: agents.flexera.com/v1
kind: KRM
metadata:
  name: instance
spec:
  ibmLicensing:
    enable: true
    namespace: ibm-common-services
    serviceName: ibm-licensing-service-instance
    servicePort: 8080
    token: VoOMWJijBWuCxSxwgON11w7z
    https: true
    tlsVerify: false
`);
    const s = mergeSettings(await settingsFromConfig(krm, 'krm.yaml'));
    expect(s).toEqual({ enable: true, namespace: 'ibm-common-services', serviceName: 'ibm-licensing-service-instance', servicePort: 8080, token: 'VoOMWJijBWuCxSxwgON11w7z', https: true, tlsVerify: false });
    expect(missingValues(s)).toEqual([]);
    expect(endpointFromSettings(s)).toEqual({ url: 'https://ibm-licensing-service-instance.ibm-common-services.svc:8080', token: 'VoOMWJijBWuCxSxwgON11w7z', tlsVerify: false });
  });

  it('a partial set lists what discovery must find; a URL stands for namespace, service, port and https', () => {
    expect(missingValues(mergeSettings({ enable: true }))).toEqual(['namespace', 'serviceName', 'servicePort', 'https', 'token']);
    expect(missingValues(mergeSettings({ enable: true, namespace: 'ibm-licensing', token: 't' }))).toEqual(['serviceName', 'servicePort', 'https']);
    expect(missingValues(mergeSettings({ url: 'https://h:8080' }))).toEqual(['token']);
    // https false is a value, not a missing one.
    expect(missingValues(mergeSettings({ namespace: 'n', serviceName: 's', servicePort: 1, https: false, token: 't' }))).toEqual([]);
  });

  it('flags win over the config file; the token comes from a file, trimmed', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'flag-token\n');
    const s = await resolveIbmLicenseServiceSettings({ enable: true, tokenFile, servicePort: '9443', https: false }, { ibmLicensing: { token: 'file-token', servicePort: 8080, https: true, namespace: 'ibm-licensing' } }, 'kensus.yaml');
    expect(s).toEqual({ enable: true, token: 'flag-token', servicePort: 9443, https: false, namespace: 'ibm-licensing', tlsVerify: false });
  });

  it('says what is wrong with a bad section', async () => {
    await expect(settingsFromConfig({ ibmLicensing: { enabel: true } }, 'k.yaml')).rejects.toThrow('k.yaml: unknown setting ibmLicensing.enabel');
    await expect(settingsFromConfig({ ibmLicensing: { enable: 'yes' } }, 'k.yaml')).rejects.toThrow('k.yaml: ibmLicensing.enable must be true or false');
    await expect(settingsFromConfig({ ibmLicensing: { servicePort: 70000 } }, 'k.yaml')).rejects.toThrow('k.yaml: ibmLicensing.servicePort must be a TCP port (1–65535)');
    await expect(settingsFromConfig({ ibmLicensing: { namespace: 'IBM_Licensing' } }, 'k.yaml')).rejects.toThrow('k.yaml: ibmLicensing.namespace is not a Kubernetes name: IBM_Licensing');
    await expect(settingsFromConfig({ ibmLicensing: { url: 'https://h:8080/?token=x' } }, 'k.yaml')).rejects.toThrow('must not carry credentials or a query');
    await expect(settingsFromConfig({ ibmLicensing: [] }, 'k.yaml')).rejects.toThrow('k.yaml: ibmLicensing must be a mapping');
    expect(await settingsFromConfig({ other: 1 }, 'k.yaml')).toEqual({});
  });

  it('token files: empty, too big, or more than a token are refused', async () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    await expect(readSecretFile(empty, 'License Service token', '--token-file')).rejects.toThrow(`License Service token file ${empty} is empty`);
    const two = join(dir, 'two');
    writeFileSync(two, 'a b\n');
    await expect(readSecretFile(two, 'License Service token', '--token-file')).rejects.toThrow('holds more than one word');
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(70_000));
    await expect(readSecretFile(big, 'License Service token', '--token-file')).rejects.toThrow('is larger than 64 KiB');
  });
});
