import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KensusError } from '../errors.js';
import type { Fixture } from '../fixtures/format.js';
import { writeDockerArchive, writeOciArchive, writeOciLayout } from '../fixtures/image-writer.js';
import { imageSources, openImage, parseRef, REF_FORMS } from './index.js';

describe('parseRef', () => {
  it.each([
    ['docker-archive:/tmp/x.tar', 'docker-archive', '/tmp/x.tar'],
    ['docker-archive:/tmp/x.tar:repo/app:1', 'docker-archive', '/tmp/x.tar:repo/app:1'],
    ['oci-archive:rel/x.tar', 'oci-archive', 'rel/x.tar'],
    ['oci:/layouts/app:1.0', 'oci', '/layouts/app:1.0'],
    ['docker:nginx:1.25', 'docker', 'nginx:1.25'],
    ['containerd:docker.io/library/redis:7', 'containerd', 'docker.io/library/redis:7'],
    ['registry:127.0.0.1:5000/app@sha256:' + 'a'.repeat(64), 'registry', '127.0.0.1:5000/app@sha256:' + 'a'.repeat(64)],
  ])('%s', (ref, scheme, name) => expect(parseRef(ref)).toEqual({ scheme, name }));

  it.each(['nginx', 'nginx:1.25', 'localhost:5000/app', 'registry.example.com:443/team/app:2', 'app@sha256:' + 'b'.repeat(64)])(
    'bare name %s',
    (ref) => expect(parseRef(ref)).toEqual({ name: ref }),
  );

  it.each(['ftp://x', 'podman:/x', 'oci-dir:/layouts/app', 'file:./x.tar', ''])('rejects %j with the accepted forms (exit 2)', (ref) => {
    try {
      parseRef(ref);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(KensusError);
      expect((err as KensusError).exitCode).toBe(2);
      expect((err as KensusError).hint).toContain('docker-archive:PATH');
    }
  });
});

describe('openImage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kensus-refs-'));
  const fixture: Fixture = {
    name: 'refs',
    signature: 'test',
    description: 'a tagged image',
    image: { refs: ['example.test/team/app:2.1'] },
    layers: [{ files: [{ path: '/etc/os-release', content: 'ID=test\n' }] }],
    expect: [],
  };

  it('picks an image by tag from a docker-archive, and says which tags exist otherwise', async () => {
    const path = join(dir, 'app.tar');
    await writeDockerArchive(fixture, path);
    const h = await openImage(`docker-archive:${path}:example.test/team/app:2.1`);
    expect(h.refs).toEqual(['example.test/team/app:2.1']);
    await expect(openImage(`docker-archive:${path}:other:1`)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('example.test/team/app:2.1') });
  });

  it('picks an OCI layout image by tag or digest', async () => {
    const layout = join(dir, 'layout');
    await writeOciLayout(fixture, layout);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const digest = index.manifests[0].digest;
    expect((await openImage(`oci:${layout}:2.1`)).digest).toBe(digest);
    expect((await openImage(`oci:${layout}@${digest}`)).digest).toBe(digest);
    await expect(openImage(`oci:${layout}:9.9`)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('2.1') });
  });

  it('asks for a digest when a layout holds several untagged images', async () => {
    const a = join(dir, 'two');
    const b = join(dir, 'two-b');
    await writeOciLayout({ ...fixture, image: {} }, a);
    await writeOciLayout({ ...fixture, image: {}, layers: [{ files: [{ path: '/etc/other', content: 'b' }] }] }, b);
    for (const f of readdirSync(join(b, 'blobs', 'sha256'))) copyFileSync(join(b, 'blobs', 'sha256', f), join(a, 'blobs', 'sha256', f));
    const ia = JSON.parse(readFileSync(join(a, 'index.json'), 'utf8'));
    const ib = JSON.parse(readFileSync(join(b, 'index.json'), 'utf8'));
    ia.manifests.push(...ib.manifests);
    writeFileSync(join(a, 'index.json'), JSON.stringify(ia));
    await expect(openImage(`oci:${a}`)).rejects.toMatchObject({ exitCode: 2, hint: expect.stringContaining('oci:DIR@sha256:') });
    expect((await openImage(`oci:${a}@${ib.manifests[0].digest}`)).digest).toBe(ib.manifests[0].digest);
  });

  it('sniffs bare paths: a docker save tar, an OCI archive, an OCI layout directory', async () => {
    const d = join(dir, 'bare-docker.tar');
    const o = join(dir, 'bare-oci.tar');
    const l = join(dir, 'bare-layout');
    await writeDockerArchive(fixture, d);
    await writeOciArchive(fixture, o);
    await writeOciLayout(fixture, l);
    expect((await openImage(d)).source).toBe('docker-archive');
    const fromOci = await openImage(o);
    expect(fromOci.layers[0].compression).toBe('gzip');
    expect((await openImage(l)).source).toBe('oci');
    await expect(openImage(`oci-archive:${d}`)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('docker save archive') });
  });
});

describe('the list of sources', () => {
  it('describes each lazily loaded source as the source itself does', async () => {
    const loaded = [
      (await import('./docker.js')).dockerSource,
      (await import('./containerd.js')).containerdSource,
      (await import('./registry.js')).registrySource,
      (await import('./host.js')).hostSource,
    ];
    for (const real of loaded) {
      const listed = imageSources.find((s) => s.scheme === real.scheme);
      expect(listed, real.scheme).toBeDefined();
      expect({ form: listed!.form, formSuffix: listed!.formSuffix, bareNameOrder: listed!.bareNameOrder }, real.scheme).toEqual({
        form: real.form,
        formSuffix: real.formSuffix,
        bareNameOrder: real.bareNameOrder,
      });
    }
  });

  it('derives the REF forms from the list, host:PATH included', () => {
    expect(REF_FORMS).toBe('docker-archive:PATH, oci-archive:PATH, oci:DIR[:TAG], docker:NAME, containerd:NAME, registry:NAME, host:PATH, or a bare NAME');
    expect(parseRef('host:/proc/1/root')).toEqual({ scheme: 'host', name: '/proc/1/root' });
  });

  it('opens host:DIR through the list', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kensus-host-ref-'));
    writeFileSync(join(root, 'marker'), 'x');
    const handle = await openImage(`host:${root}`);
    expect(handle.source).toBe('host');
    await handle.close();
  });

  it('says why each live source did not have a bare name', async () => {
    const err = await openImage('kensus-no-such-image-anywhere:1', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).message).toMatch(/^no source has image "kensus-no-such-image-anywhere:1" \(docker: .+; containerd: .+; registry: .+\)$/);
  });
});
