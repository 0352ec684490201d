import { unreachable } from '../errors.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel, type ClusterModel } from '../cluster/model.js';
import { NIM_IMAGE, ORACLE_IMAGE, rawNode, rawPod, testClusterObjects } from '../../test/support/cluster-objects.js';
import type { ProductFinding } from '../model/finding.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { buildInventory, namespaceRollups, type ImageKey } from './inventory.js';
import { combinedMatcher, imageRepository, patternMetadataMatcher, type MetadataMatcher } from './metadata.js';

let model: ClusterModel;
let matcher: MetadataMatcher;
beforeAll(async () => {
  const { nodes, pods } = testClusterObjects();
  model = buildClusterModel(nodes, pods, 'snapshot');
  const set = await loadSignatureSet();
  matcher = combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher);
});

const ids = (ps: ProductFinding[]) => ps.map((p) => p.id).sort();

describe('inventory', () => {
  it('finds products from the cluster model alone in metadata-only mode', async () => {
    const inv = await buildInventory(model, { matchMetadata: matcher }, { metadataOnly: true });
    const c = (pod: string) => inv.containers.find((x) => x.pod.name === pod)!;
    expect(ids(c('nim-llm').products)).toContain('nvidia-nim');
    expect(ids(c('nim-mig').products)).toContain('nvidia-nim');
    expect(c('oracle-0').products.find((p) => p.id === 'oracle-database')).toMatchObject({ edition: 'Enterprise Edition', licensable: true });
    expect(ids(c('mq-1').products)).toEqual(['ibm-mq']);
    // App Connect has no signature: the annotation itself names the program.
    expect(c('ace-1').products).toMatchObject([{ id: 'ibm-e6f1d4ef3a2e4b9ea7c0b3a1f3d2c1b0', product: 'IBM App Connect Enterprise', licenseMetric: 'PROCESSOR_VALUE_UNIT' }]);
    expect(c('nginx').products).toEqual([]);
    expect(c('mq-pending').running).toBe(false);
    expect(inv.containers.every((x) => x.method === 'image')).toBe(true);
    expect(inv.containers.length).toBe(model.pods.reduce((a, p) => a + p.containers.length, 0));
  });

  it('scans each image digest once, whatever the number of pods', async () => {
    const calls: ImageKey[] = [];
    const scanImage = async (img: ImageKey): Promise<ProductFinding[]> => {
      calls.push(img);
      if (img.image === ORACLE_IMAGE) {
        return [{ id: 'oracle-database', vendor: 'Oracle', product: 'Oracle Database', edition: 'Enterprise Edition', version: '19.3.0.0.0', licenseMetric: 'per-core', licensable: true, confidence: 'high', evidence: [{ kind: 'file', path: '/opt/oracle/product/19c/dbhome_1/bin/oracle', rule: 'oracle-database/oracle-binary' }] }];
      }
      if (img.image.startsWith('docker.io/library/nginx')) throw unreachable('registry unreachable'); // as the image scanner fails
      return [];
    };
    const inv = await buildInventory(model, { scanImage, matchMetadata: matcher });
    const keys = calls.map((c) => c.digest ?? c.image);
    expect(new Set(keys).size).toBe(keys.length);
    // 3 Oracle pods share one digest: one scan.
    expect(calls.filter((c) => c.image === ORACLE_IMAGE).length).toBe(1);
    // The MQ image: one digest for the running pods; the Pending pod's image (no digest, never
    // started) is not fetched.
    expect(calls.filter((c) => c.image.includes('/mq:')).map((c) => c.digest === null)).toEqual([false]);
    expect(ids(inv.containers.find((x) => x.pod.name === 'mq-pending')!.products)).toEqual(['ibm-mq']);
    expect(inv.errors).toEqual([{ target: 'docker.io/library/nginx:1.25-k7test', message: 'registry unreachable' }]);
    const oracle = inv.containers.filter((x) => x.container.image === ORACLE_IMAGE);
    expect(oracle.map((x) => x.products.find((p) => p.id === 'oracle-database')?.version)).toEqual(['19.3.0.0.0', '19.3.0.0.0', '19.3.0.0.0']);
    // Image scans keep the metadata findings (NIM by image reference).
    expect(ids(inv.containers.find((x) => x.container.image === NIM_IMAGE)!.products)).toContain('nvidia-nim');
    expect(inv.images.find((i) => i.ref === ORACLE_IMAGE)!.scanned).toBe(true);
  });

  it('prefers the exec scan of a running container and falls back to the image', async () => {
    const inv = await buildInventory(
      model,
      {
        matchMetadata: matcher,
        scanImage: async () => [],
        scanContainer: async (pod) =>
          pod.name === 'nginx'
            ? [{ id: 'oracle-java-se', vendor: 'Oracle', product: 'Oracle Java SE', edition: null, version: '8u202', licenseMetric: 'per-employee', licensable: true, confidence: 'high', evidence: [{ kind: 'file', path: '/opt/java/bin/java', rule: 'x/y' }] }]
            : null,
      },
      {},
    );
    const execOnly = await buildInventory(model, { matchMetadata: matcher, scanContainer: async (pod) => (pod.name === 'nginx' ? [] : null) });
    expect(execOnly.containers.find((x) => x.pod.name === 'nginx')!.method).toBe('exec');
    expect(execOnly.metadataOnly).toBe(false);
    const nginx = inv.containers.find((x) => x.pod.name === 'nginx')!;
    expect(nginx.method).toBe('exec');
    expect(ids(nginx.products)).toEqual(['oracle-java-se']);
    expect(inv.containers.find((x) => x.pod.name === 'oracle-0')!.method).toBe('image');
  });

  it('a default edition from the image scan yields to the edition the pod environment sets', async () => {
    const set = await loadSignatureSet();
    const image = 'mcr.microsoft.com/mssql/server:2022-CU14-ubuntu-22.04';
    const pod = (name: string, env: Record<string, string>) => {
      const raw = rawPod({ namespace: 'db', name, node: 'n1', containers: [{ name: 'mssql', image }] }) as { spec: { containers: Array<Record<string, unknown>> } };
      raw.spec.containers[0].env = Object.entries(env).map(([k, v]) => ({ name: k, value: v }));
      return raw;
    };
    const sqlModel = buildClusterModel([rawNode({ name: 'n1', cpu: '8' })], [pod('sql-enterprise', { ACCEPT_EULA: 'Y', MSSQL_PID: 'Enterprise' }), pod('sql-plain', { ACCEPT_EULA: 'Y' })], 'snapshot');
    // The image alone: sqlservr and no MSSQL_PID in its config, so Microsoft's default (Developer).
    const scanImage = async (): Promise<ProductFinding[]> =>
      matchSubject(set, { files: new Map([['/opt/mssql/bin/sqlservr', { path: '/opt/mssql/bin/sqlservr', kind: 'file', size: 1, mode: 0o755 }]]), packages: [], labels: {}, env: {}, refs: [image] });
    const inv = await buildInventory(sqlModel, { scanImage, matchMetadata: matcher });
    const sql = (name: string) => inv.containers.find((x) => x.pod.name === name)!.products.find((p) => p.id === 'microsoft-sql-server')!;
    expect(sql('sql-enterprise')).toMatchObject({ edition: 'Enterprise', licensable: true });
    expect(sql('sql-plain')).toMatchObject({ edition: 'Developer', licensable: false });
    expect(sql('sql-plain').evidence.some((e) => e.kind === 'default' && e.gives?.includes('edition'))).toBe(true);
  });

  it('rolls up namespaces', async () => {
    const inv = await buildInventory(model, { matchMetadata: matcher }, { metadataOnly: true });
    const ns = namespaceRollups(inv);
    expect(ns.map((n) => n.namespace)).toEqual(['ace', 'ai-inference', 'cp4i', 'cuda', 'db', 'db2', 'ml-training', 'mq', 'web']);
    const mq = ns.find((n) => n.namespace === 'mq')!;
    expect([mq.pods, mq.runningPods, mq.containers]).toEqual([5, 4, 5]);
    expect(mq.products).toEqual([{ id: 'ibm-mq', product: 'IBM MQ', containers: 5, runningContainers: 4 }]);
    expect(ns.find((n) => n.namespace === 'ai-inference')!.gpus).toBe(2);
    const db = ns.find((n) => n.namespace === 'db')!;
    expect(db.products).toEqual([
      { id: 'mongodb-enterprise', product: 'MongoDB Enterprise Server', containers: 2, runningContainers: 2 },
      { id: 'oracle-database', product: 'Oracle Database', containers: 3, runningContainers: 2 },
    ]);
  });

  it('reduces image references to repositories for pattern matching', () => {
    expect(imageRepository('nvcr.io/nim/meta/llama3:1.0@sha256:abc')).toBe('nvcr.io/nim/meta/llama3');
    expect(imageRepository('docker.io/library/nginx:1.25')).toBe('nginx');
    expect(imageRepository('localhost:5000/app')).toBe('localhost:5000/app');
  });
});

describe('IBM annotations and sidecars', () => {
  it('gives the annotated program only to the charged containers', async () => {
    const inv = await buildInventory(model, { matchMetadata: matcher }, { metadataOnly: true });
    const db2 = inv.containers.filter((x) => x.pod.name === 'db2-limited');
    expect(db2.map((x) => [x.container.name, ids(x.products)])).toEqual([
      ['db2', ['ibm-db2']],
      ['istio-proxy', []],
    ]);
  });
});
