import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScanCluster } from '../../src/cli/scan-cluster.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { openAccess } from '../../src/server/auth.js';
import { parsePolicy } from '../../src/server/policy.js';
import { loadSignatureSet } from '../../src/signatures/load.js';
import { digestOf, rawNode, rawPod } from '../support/cluster-objects.js';

/**
 * Issue 13: one digest started under two names. The NIM name (nvcr.io/nim/…) is evidence of NVIDIA
 * NIM for the pods started from that name only; a mirror of the same bytes under another name is
 * not NIM by name. The admission cache (filled from a real sweep of a snapshot) must give the
 * finding to the name that carries it and never to the digest, whichever pod the sweep saw last.
 */

const DIGEST = digestOf('shared-llm-image');
const NIM = 'nvcr.io/nim/meta/llama-3.1-8b-instruct';
const MIRROR = 'registry.example.com/mirror/llm';
const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-digest-'));
let server: RunningServer;

function review(uid: string, image: string) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, operation: 'CREATE', namespace: 'ai', object: { kind: 'Pod', metadata: { name: uid }, spec: { containers: [{ name: 'llm', image }] } } },
  };
}

async function admit(uid: string, image: string): Promise<{ allowed: boolean; warnings?: string[] }> {
  const res = await fetch(`${server.url}/validate`, { method: 'POST', body: JSON.stringify(review(uid, image)), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { response: { allowed: boolean; warnings?: string[] } }).response;
}

beforeAll(async () => {
  const snapshot = join(dir, 'snapshot.json');
  // The mirror's pod first, the NIM pod last: before the fix the digest took the last pod's findings.
  const items = [
    rawNode({ name: 'cpu-1', cpu: '16' }),
    rawPod({ namespace: 'ai', name: 'mirror-llm', node: 'cpu-1', containers: [{ name: 'llm', image: `${MIRROR}:1.3.3`, digest: DIGEST }] }),
    rawPod({ namespace: 'ai', name: 'nim-llm', node: 'cpu-1', containers: [{ name: 'llm', image: `${NIM}:1.3.3`, digest: DIGEST }] }),
  ];
  writeFileSync(snapshot, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  const { report } = await runScanCluster({ snapshot, metadataOnly: true, now: new Date('2026-11-23T02:00:00Z') });
  // What the sweep itself says: NIM in the NIM pod only.
  expect(report.containers.map((c) => [c.pod, c.products.map((p) => p.id)])).toEqual([
    ['mirror-llm', []],
    ['nim-llm', ['nvidia-nim']],
  ]);
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    auth: openAccess(),
    initialReport: report,
    admission: { set: await loadSignatureSet(), policy: parsePolicy('mode: warn\nwarn: [nvidia-nim]\nrequireIbmAnnotations: false'), entitled: () => false },
  });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('admission: name evidence belongs to the reference, content evidence to the digest', () => {
  it('the digest holds no finding that only the NIM name showed', async () => {
    const res = await fetch(`${server.url}/api/v1/findings?image=${DIGEST}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { products: Array<{ id: string }> }).products.map((p) => p.id)).toEqual([]);
    expect(server.findingsByImage.get(`${NIM}:1.3.3`)?.map((p) => p.id)).toEqual(['nvidia-nim']);
    expect(server.findingsByImage.get(`${MIRROR}:1.3.3`)).toEqual([]);
  });

  it('the same digest admitted under two names: only the NIM name gets the NIM warning', async () => {
    const nimByDigest = await admit('nim-pinned', `${NIM}@${DIGEST}`);
    expect(nimByDigest.allowed).toBe(true);
    expect(nimByDigest.warnings?.join('\n')).toMatch(/NVIDIA NIM.* in container llm \(nvcr\.io\/nim\/meta\/llama-3\.1-8b-instruct@sha256:[0-9a-f]{64}\) is licensed software/);
    expect((await admit('nim-tag', `${NIM}:1.3.3`)).warnings?.join('\n')).toMatch(/NVIDIA NIM/);

    const mirrorByDigest = await admit('mirror-pinned', `${MIRROR}@${DIGEST}`);
    expect(mirrorByDigest).toEqual({ uid: 'mirror-pinned', allowed: true });
    expect(await admit('mirror-tag', `${MIRROR}:1.3.3`)).toEqual({ uid: 'mirror-tag', allowed: true });
    // Known, so no background scan was asked for either name (none is configured; nothing queued).
    await server.idle();
  });
});
