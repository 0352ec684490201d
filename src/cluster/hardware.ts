import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A node's hardware as the Flexera Kubernetes agent's node component collects it (sockets,
 * cores, threads, memory, CPU model, BIOS data; ../shared/reference/flexera-krm-agent-attributes.de.txt):
 * the evidence for IBM PVU and sub-capacity counting. Parsing is pure (file text in, figures out);
 * `readNodeHardware` only reads the files.
 */
export interface NodeHardware {
  /** Physical packages (distinct `physical id`, or topology/physical_package_id). */
  sockets: number;
  /** Physical cores over all sockets. */
  cores: number;
  /** Logical processors the kernel runs (hardware threads). */
  threads: number;
  /** MemTotal of /proc/meminfo in bytes. */
  memoryBytes: number | null;
  cpuModel: string | null;
  cpuVendor: string | null;
  /** /sys/class/dmi/id: absent on ARM boards without SMBIOS, or when not readable (serial is root-only). */
  dmi: {
    sysVendor: string | null;
    productName: string | null;
    productSerial: string | null;
    productUuid: string | null;
    biosVendor: string | null;
    biosVersion: string | null;
    biosDate: string | null;
  };
  /** Node label node.kubernetes.io/instance-type (or the beta label): the cloud's machine type. */
  instanceType: string | null;
  architecture: string | null;
}

export interface CpuTopology {
  sockets: number;
  cores: number;
  threads: number;
  cpuModel: string | null;
  cpuVendor: string | null;
}

/** One /sys/devices/system/cpu/cpuN/topology reading. */
export interface CpuTopologyEntry {
  cpu: number;
  packageId: number;
  coreId: number;
}

/**
 * ARM implementer and part numbers (MIDR_EL1) → names, as Linux's arch/arm64/include/asm/cputype.h
 * and util-linux lscpu-arm.c name them: ARM cpuinfo carries numbers, not a model name.
 */
const armImplementers: Record<string, { name: string; parts: Record<string, string> }> = {
  '0x41': {
    name: 'ARM',
    parts: { '0xd03': 'Cortex-A53', '0xd07': 'Cortex-A57', '0xd08': 'Cortex-A72', '0xd0b': 'Cortex-A76', '0xd0c': 'Neoverse-N1', '0xd40': 'Neoverse-V1', '0xd49': 'Neoverse-N2', '0xd4f': 'Neoverse-V2' },
  },
  '0x48': { name: 'HiSilicon', parts: { '0xd01': 'Kunpeng-920' } },
  '0x50': { name: 'APM', parts: { '0x000': 'X-Gene' } },
  '0x51': { name: 'Qualcomm', parts: { '0xc00': 'Falkor' } },
  '0x61': { name: 'Apple', parts: {} },
  '0xc0': { name: 'Ampere', parts: { '0xac3': 'Ampere-1', '0xac4': 'Ampere-1a' } },
};

/** /proc/cpuinfo → blocks of `key: value` (one per logical processor; a trailing block of globals on ARM/s390). */
export function cpuinfoBlocks(text: string): Array<Record<string, string>> {
  const blocks: Array<Record<string, string>> = [];
  for (const chunk of text.split(/\n\s*\n/)) {
    const block: Record<string, string> = {};
    for (const line of chunk.split('\n')) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      block[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    if (Object.keys(block).length) blocks.push(block);
  }
  return blocks;
}

/**
 * Sockets, cores and threads from /proc/cpuinfo. x86 has `physical id` and `core id` per
 * processor; ARM has neither, so `topology` (from sysfs) decides there, and without it each
 * logical CPU counts as one core of one socket (ARM server cores run one thread each).
 */
export function parseCpuinfo(text: string, topology: CpuTopologyEntry[] = []): CpuTopology {
  const blocks = cpuinfoBlocks(text);
  const procs = blocks.filter((b) => b.processor !== undefined && /^\d+$/.test(b.processor));
  const threads = procs.length;
  const first = procs[0] ?? {};
  let cpuModel = first['model name'] ?? first['cpu model'] ?? first.cpu ?? null;
  let cpuVendor = first.vendor_id ?? null;
  const implementer = first['cpu implementer'];
  if (implementer) {
    const impl = armImplementers[implementer.toLowerCase()];
    const part = first['cpu part']?.toLowerCase();
    cpuVendor = impl?.name ?? implementer;
    // ARMv7 kernels print "model name : ARMv7 Processor rev 4 (v7l)": the part number says more.
    const partName = impl && part ? impl.parts[part] : undefined;
    if (partName || !cpuModel) cpuModel = partName ? `${impl!.name} ${partName}` : `${cpuVendor} part ${part ?? 'unknown'}`;
  }
  const hasX86Topology = procs.length > 0 && procs.every((p) => p['physical id'] !== undefined && p['core id'] !== undefined);
  let sockets: number;
  let cores: number;
  if (hasX86Topology) {
    sockets = new Set(procs.map((p) => p['physical id'])).size;
    cores = new Set(procs.map((p) => `${p['physical id']}/${p['core id']}`)).size;
  } else if (topology.length) {
    sockets = new Set(topology.map((t) => t.packageId)).size;
    cores = new Set(topology.map((t) => `${t.packageId}/${t.coreId}`)).size;
  } else {
    sockets = threads > 0 ? 1 : 0;
    cores = threads;
  }
  return { sockets, cores, threads, cpuModel: cpuModel || null, cpuVendor };
}

/** MemTotal of /proc/meminfo in bytes (the kernel prints kB, meaning KiB). */
export function parseMeminfo(text: string): number | null {
  const m = /^MemTotal:\s+(\d+)\s*kB/im.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** A DMI value as the kernel shows it: trimmed; firmware placeholders are no value. */
export function dmiValue(raw: string | null | undefined): string | null {
  const v = raw?.replace(/\0/g, '').trim();
  if (!v) return null;
  if (/^(to be filled by o\.?e\.?m\.?|default string|not specified|none|system serial number|0+|n\/a)$/i.test(v)) return null;
  return v;
}

export function instanceTypeOf(labels: Record<string, string>): string | null {
  return labels['node.kubernetes.io/instance-type'] ?? labels['beta.kubernetes.io/instance-type'] ?? null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function readTopology(root: string): Promise<CpuTopologyEntry[]> {
  const dir = join(root, 'sys/devices/system/cpu');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: CpuTopologyEntry[] = [];
  for (const name of names) {
    const m = /^cpu(\d+)$/.exec(name);
    if (!m) continue;
    const pkg = await readText(join(dir, name, 'topology/physical_package_id'));
    const core = await readText(join(dir, name, 'topology/core_id'));
    if (pkg === null || core === null) continue;
    out.push({ cpu: Number(m[1]), packageId: Number(pkg.trim()), coreId: Number(core.trim()) });
  }
  return out;
}

/**
 * Reads the node's hardware under `root` ('/' in a pod with the host's /proc and /sys, or the
 * --host-root mount). Files that cannot be read give null fields, never an error: a serial is
 * readable by root only, and ARM boards often have no DMI at all.
 */
export async function readNodeHardware(root: string, node: { labels: Record<string, string>; architecture: string | null }): Promise<NodeHardware> {
  const cpuinfo = (await readText(join(root, 'proc/cpuinfo'))) ?? '';
  const cpu = parseCpuinfo(cpuinfo, await readTopology(root));
  const dmi = async (name: string) => dmiValue(await readText(join(root, 'sys/class/dmi/id', name)));
  return {
    ...cpu,
    memoryBytes: parseMeminfo((await readText(join(root, 'proc/meminfo'))) ?? ''),
    dmi: {
      sysVendor: await dmi('sys_vendor'),
      productName: await dmi('product_name'),
      productSerial: await dmi('product_serial'),
      productUuid: await dmi('product_uuid'),
      biosVendor: await dmi('bios_vendor'),
      biosVersion: await dmi('bios_version'),
      biosDate: await dmi('bios_date'),
    },
    instanceType: instanceTypeOf(node.labels),
    architecture: node.architecture,
  };
}
