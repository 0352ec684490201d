import type { GpuSkuRow, UsageRow } from '../model/report.js';
import type { Inventory } from '../inventory/inventory.js';
import { loadGpuSkuMap, type GpuSkuMap, type NodeGpuInfo } from './gpu.js';
import { ibmUsage } from './ibm.js';
import { foundWithoutAnnotations, ibmProgramsOf } from './ibm-findings.js';
import { loadCoreFactors, productUsage, type CoreFactorTable } from './metrics.js';
import { gpuSkuRows, gpusByNode, loadGatedProducts, nvaieUsage } from './nvaie.js';
import { DEFAULT_GPU_PRODUCTS, gpuProductUsage, nvaieDetection, type GpuLicenseProduct } from './gpu-licenses.js';
import { looksLikeOpenShift, openshiftNodeCounts, openshiftUsage, type OpenShiftNodeCount } from './openshift.js';

export interface UsageOptions {
  gpuSkuMap?: GpuSkuMap;
  /** GPU products of a gpu-licenses.yaml (default: nvidia.com/vgpu as its own per-vGPU product). */
  gpuProducts?: readonly GpuLicenseProduct[];
  /** True when gpuProducts came from a map file (rule texts name it). */
  gpuMapFile?: boolean;
  coreFactors?: CoreFactorTable;
  gatedProducts?: ReadonlySet<string>;
  /** OpenShift subscriptions: true, false, or 'auto' (when the nodes are OpenShift's). */
  openshift?: boolean | 'auto';
  openshiftAllNodes?: boolean;
  htFactor?: number;
  /** IBM: any container without a CPU limit (not only charged ones) gives its pod the node capacity. */
  ibmStrictNoLimit?: boolean;
}

export interface UsageResult {
  usage: UsageRow[];
  gpuSkus: GpuSkuRow[];
  gpusByNode: Map<string, NodeGpuInfo[]>;
  gatedNodes: Map<string, string[]>;
  /** Per node, whether OpenShift counts it and why; present when OpenShift figures were computed. */
  openshiftNodes?: OpenShiftNodeCount[];
}

/**
 * Every licence figure of one inventory: IBM container licensing, NVIDIA AI Enterprise per GPU,
 * OpenShift core pairs, and Kensus's per-core/instance/node/GPU metrics for the other products.
 */
export function computeUsage(inv: Inventory, opts: UsageOptions = {}): UsageResult {
  const map = opts.gpuSkuMap ?? loadGpuSkuMap();
  const gated = opts.gatedProducts ?? loadGatedProducts();
  const byNode = gpusByNode(inv.model.nodes, map);
  const ibm = ibmUsage(inv.model, { programsOf: ibmProgramsOf(inv), withoutAnnotations: foundWithoutAnnotations, strictNoLimit: opts.ibmStrictNoLimit });
  const gpuProducts = opts.gpuProducts ?? DEFAULT_GPU_PRODUCTS;
  const nvaie = nvaieUsage(inv, byNode, gated, nvaieDetection(gpuProducts));
  const gpuRows = gpuProductUsage(inv, gpuProducts, (n) => (byNode.get(n) ?? []).reduce((a, g) => a + g.count, 0), opts.gpuMapFile ?? opts.gpuProducts !== undefined);
  const products = productUsage(inv, { coreFactors: opts.coreFactors ?? loadCoreFactors(), htFactor: opts.htFactor, gpusByNode: byNode, exclude: gated });
  const wantOpenShift = opts.openshift === true || ((opts.openshift ?? 'auto') === 'auto' && looksLikeOpenShift(inv.model));
  const osOpts = { allNodes: opts.openshiftAllNodes, htFactor: opts.htFactor };
  const openshift = wantOpenShift ? openshiftUsage(inv.model, osOpts) : [];
  return {
    usage: [...ibm, ...nvaie.usage, ...gpuRows, ...openshift, ...products],
    gpuSkus: gpuSkuRows(byNode, nvaie.gatedNodes),
    gpusByNode: byNode,
    gatedNodes: nvaie.gatedNodes,
    ...(wantOpenShift ? { openshiftNodes: openshiftNodeCounts(inv.model, osOpts) } : {}),
  };
}
