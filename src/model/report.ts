import type { ProductFinding } from './finding.js';

/** The `--format json` document of CONTRACT.md (schemaVersion 1). Extra fields are allowed. */
export interface ImageReport {
  ref: string;
  digest: string;
  /** Which source read it (docker-archive, oci, docker, containerd, registry, host). */
  source?: string;
  products: ProductFinding[];
  /** What the reader passed over in this image (unsafe entry names, unreadable links...). */
  warnings?: string[];
}

export type ScanMethod = 'exec' | 'image' | 'host';

export interface ContainerReport {
  id: string;
  name: string;
  pod: string | null;
  namespace: string | null;
  node: string | null;
  image: string;
  imageDigest: string | null;
  method: ScanMethod;
  products: ProductFinding[];
  /** CPU limit in cores, when the container has one. */
  cpuLimit?: number | null;
  gpus?: number;
}

export interface NodeGpu {
  product: string | null;
  count: number;
  sku: string | null;
  /** MIG profile or sharing details when present. */
  mig?: Record<string, number>;
}

export interface NodeReport {
  name: string;
  cpu: number;
  gpus: NodeGpu[];
  products: ProductFinding[];
  [extra: string]: unknown;
}

export interface UsageRow {
  productId: string;
  productName: string;
  metric: string;
  quantity: number;
  pvu: number | null;
  scope: string;
  cloudpakId: string | null;
  rule: string;
  [extra: string]: unknown;
}

export interface GpuSkuRow {
  sku: string | null;
  gpus: number;
  nodes: string[];
  [extra: string]: unknown;
}

export interface ScanErrorRow {
  target: string;
  message: string;
}

export interface Report {
  schemaVersion: '1';
  tool: { name: 'kensus'; version: string };
  scannedAt: string;
  images: ImageReport[];
  containers: ContainerReport[];
  nodes: NodeReport[];
  usage: UsageRow[];
  gpuSkus: GpuSkuRow[];
  errors: ScanErrorRow[];
  [extra: string]: unknown;
}

export function emptyReport(version: string, now = new Date()): Report {
  return {
    schemaVersion: '1',
    tool: { name: 'kensus', version },
    scannedAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    images: [],
    containers: [],
    nodes: [],
    usage: [],
    gpuSkus: [],
    errors: [],
  };
}
