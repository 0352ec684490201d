import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { requireBinary } from '../support/daemons.js';

export const BUSYBOX_IMAGE = 'kensus-test/busybox:1';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\napp:x:1000:\n';

/**
 * A docker build context: FROM scratch, the static busybox and one symlink per applet. The
 * symlinks are made here rather than by `RUN busybox --install` because the test dockerd runs
 * with `--bridge none` and builds need no container at all this way.
 */
export function busyboxContext(dockerfileExtra = ''): tar.Pack {
  const busybox = requireBinary('busybox', 'busybox-static');
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean);
  const pack = tar.pack();
  const dockerfile = `FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n${dockerfileExtra}`;
  pack.entry({ name: 'Dockerfile' }, dockerfile);
  for (const d of ['rootfs/', 'rootfs/bin/', 'rootfs/sbin/', 'rootfs/usr/', 'rootfs/usr/bin/', 'rootfs/usr/sbin/', 'rootfs/etc/', 'rootfs/root/', 'rootfs/home/', 'rootfs/var/']) {
    pack.entry({ name: d, type: 'directory', mode: 0o755 });
  }
  pack.entry({ name: 'rootfs/home/app/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 });
  pack.entry({ name: 'rootfs/tmp/', type: 'directory', mode: 0o1777 });
  pack.entry({ name: 'rootfs/etc/passwd', mode: 0o644 }, PASSWD);
  pack.entry({ name: 'rootfs/etc/group', mode: 0o644 }, GROUP);
  const bin = readFileSync(busybox);
  pack.entry({ name: 'rootfs/bin/busybox', mode: 0o755, size: statSync(busybox).size }, bin);
  for (const a of applets) {
    const rel = a.replace(/^\//, '');
    if (rel === 'bin/busybox') continue;
    const depth = rel.split('/').length - 1;
    pack.entry({ name: `rootfs/${rel}`, type: 'symlink', linkname: `${'../'.repeat(depth)}bin/busybox`.replace(/^bin\/busybox$/, 'busybox') });
  }
  pack.finalize();
  return pack;
}

/** Builds (once) the busybox image the fixture pods run on; a no-op when it already exists. */
export async function ensureBusyboxImage(docker: Docker, name = BUSYBOX_IMAGE): Promise<string> {
  try {
    const info = await docker.getImage(name).inspect();
    return info.Id;
  } catch {
    /* build it */
  }
  const stream = await docker.buildImage(busyboxContext() as unknown as NodeJS.ReadableStream, { t: name, rm: true, forcerm: true });
  const output: unknown[] = await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))));
  const failed = output.find((o: any) => o?.error) as { error: string } | undefined;
  if (failed) throw new Error(`building ${name} failed: ${failed.error}`);
  return (await docker.getImage(name).inspect()).Id;
}
