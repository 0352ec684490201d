import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dmiValue, instanceTypeOf, parseCpuinfo, parseMeminfo, readNodeHardware } from './hardware.js';

const here = new URL('./testdata/', import.meta.url);

/**
 * An x86 block as Linux's arch/x86/kernel/cpu/proc.c prints it, fields in its order. The
 * dual-socket shapes follow published machines: 2 × Xeon E5-2687W v4, 12 cores each, no HT
 * (Youcheng/CPPFun NumaNode/README.md: lscpu 24 CPUs, 2 sockets, 12 cores per socket, NUMA
 * node0 CPUs 0-11) and 2 × Xeon E5-2609 v2, 4 cores each, CPUs interleaved over the sockets
 * (woylaski/notebook 查看cpu信息.md: NUMA node0 CPUs 0,2,4,6).
 */
function x86Block(processor: number, physicalId: number, coreId: number, model: string, siblings: number, cores: number): string {
  return [
    `processor\t: ${processor}`,
    'vendor_id\t: GenuineIntel',
    'cpu family\t: 6',
    'model\t\t: 79',
    `model name\t: ${model}`,
    'stepping\t: 1',
    'microcode\t: 0xb000010',
    'cpu MHz\t\t: 3000.000',
    'cache size\t: 30720 KB',
    `physical id\t: ${physicalId}`,
    `siblings\t: ${siblings}`,
    `core id\t\t: ${coreId}`,
    `cpu cores\t: ${cores}`,
    `apicid\t\t: ${physicalId * 32 + coreId * 2}`,
    'fpu\t\t: yes',
    'flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov ht',
    'bogomips\t: 5999.81',
    'address sizes\t: 46 bits physical, 48 bits virtual',
    'power management:',
    '',
  ].join('\n');
}

/**
 * arm64 as arch/arm64/kernel/cpuinfo.c (c_show) prints it: no model name, no physical or core
 * id; MIDR fields instead. Implementer 0x41 part 0xd0c is Neoverse-N1 (cputype.h), the core of
 * AWS Graviton2 (an m6g.xlarge has 4 of them).
 */
function arm64Block(processor: number): string {
  return [
    `processor\t: ${processor}`,
    'BogoMIPS\t: 243.75',
    'Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs',
    'CPU implementer\t: 0x41',
    'CPU architecture: 8',
    'CPU variant\t: 0x3',
    'CPU part\t: 0xd0c',
    'CPU revision\t: 1',
    '',
  ].join('\n');
}

describe('parseCpuinfo', () => {
  it("reads this machine's /proc/cpuinfo (2 vCPUs of an AMD EPYC, one socket, 2 cores)", () => {
    const text = readFileSync(new URL('cpuinfo-amd-epyc-2vcpu.txt', here), 'utf8');
    expect(parseCpuinfo(text)).toEqual({ sockets: 1, cores: 2, threads: 2, cpuModel: 'AMD EPYC', cpuVendor: 'AuthenticAMD' });
  });

  it('counts two sockets of 12 cores without hyper-threading (E5-2687W v4)', () => {
    const model = 'Intel(R) Xeon(R) CPU E5-2687W v4 @ 3.00GHz';
    const text = Array.from({ length: 24 }, (_, i) => x86Block(i, i < 12 ? 0 : 1, i % 12, model, 12, 12)).join('\n');
    expect(parseCpuinfo(text)).toEqual({ sockets: 2, cores: 24, threads: 24, cpuModel: model, cpuVendor: 'GenuineIntel' });
  });

  it('counts sockets whose CPUs are interleaved (E5-2609 v2, node0 = 0,2,4,6)', () => {
    const model = 'Intel(R) Xeon(R) CPU E5-2609 v2 @ 2.50GHz';
    const text = Array.from({ length: 8 }, (_, i) => x86Block(i, i % 2, Math.floor(i / 2), model, 4, 4)).join('\n');
    expect(parseCpuinfo(text)).toMatchObject({ sockets: 2, cores: 8, threads: 8 });
  });

  it('counts hyper-threads as threads, not cores (2 sockets × 4 cores × 2 threads)', () => {
    const text = Array.from({ length: 16 }, (_, i) => x86Block(i, Math.floor(i / 8), i % 4, 'Xeon', 8, 4)).join('\n');
    expect(parseCpuinfo(text)).toMatchObject({ sockets: 2, cores: 8, threads: 16 });
  });

  it('names an ARM core from its implementer and part (Graviton2: Neoverse-N1), one socket without sysfs topology', () => {
    const text = Array.from({ length: 4 }, (_, i) => arm64Block(i)).join('\n');
    expect(parseCpuinfo(text)).toEqual({ sockets: 1, cores: 4, threads: 4, cpuModel: 'ARM Neoverse-N1', cpuVendor: 'ARM' });
  });

  it('takes sockets and cores of ARM from sysfs topology (2 × 64-core Ampere-style packages)', () => {
    const text = Array.from({ length: 128 }, (_, i) => arm64Block(i)).join('\n');
    const topology = Array.from({ length: 128 }, (_, i) => ({ cpu: i, packageId: i < 64 ? 0 : 1, coreId: i % 64 }));
    expect(parseCpuinfo(text, topology)).toMatchObject({ sockets: 2, cores: 128, threads: 128 });
  });

  it('gives zeros for an empty or unreadable cpuinfo', () => {
    expect(parseCpuinfo('')).toEqual({ sockets: 0, cores: 0, threads: 0, cpuModel: null, cpuVendor: null });
  });
});

describe('meminfo, DMI values, instance type', () => {
  it('reads MemTotal in KiB as bytes', () => {
    expect(parseMeminfo('MemTotal:       24684092 kB\nMemFree:         1000 kB\n')).toBe(24684092 * 1024);
    expect(parseMeminfo('garbage')).toBeNull();
  });

  it('drops firmware placeholders', () => {
    expect(dmiValue('Amazon EC2\n')).toBe('Amazon EC2');
    expect(dmiValue('To be filled by O.E.M.\n')).toBeNull();
    expect(dmiValue('Default string')).toBeNull();
    expect(dmiValue('')).toBeNull();
    expect(dmiValue(null)).toBeNull();
  });

  it('reads the instance type from the well-known label, then the beta one', () => {
    expect(instanceTypeOf({ 'node.kubernetes.io/instance-type': 'm6g.xlarge' })).toBe('m6g.xlarge');
    expect(instanceTypeOf({ 'beta.kubernetes.io/instance-type': 'n2-standard-8' })).toBe('n2-standard-8');
    expect(instanceTypeOf({})).toBeNull();
  });
});

describe('readNodeHardware', () => {
  it('reads cpuinfo, meminfo, sysfs topology and DMI under a host root; unreadable files are null', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kensus-hw-'));
    try {
      mkdirSync(join(root, 'proc'));
      writeFileSync(join(root, 'proc/cpuinfo'), Array.from({ length: 4 }, (_, i) => arm64Block(i)).join('\n'));
      writeFileSync(join(root, 'proc/meminfo'), 'MemTotal:       16183488 kB\n');
      for (let i = 0; i < 4; i++) {
        mkdirSync(join(root, `sys/devices/system/cpu/cpu${i}/topology`), { recursive: true });
        writeFileSync(join(root, `sys/devices/system/cpu/cpu${i}/topology/physical_package_id`), '0\n');
        writeFileSync(join(root, `sys/devices/system/cpu/cpu${i}/topology/core_id`), `${i}\n`);
      }
      mkdirSync(join(root, 'sys/class/dmi/id'), { recursive: true });
      writeFileSync(join(root, 'sys/class/dmi/id/sys_vendor'), 'Amazon EC2\n');
      writeFileSync(join(root, 'sys/class/dmi/id/product_name'), 'm6g.xlarge\n');
      writeFileSync(join(root, 'sys/class/dmi/id/bios_vendor'), 'Amazon EC2\n');
      writeFileSync(join(root, 'sys/class/dmi/id/bios_version'), '1.0\n');
      const hw = await readNodeHardware(root, { labels: { 'node.kubernetes.io/instance-type': 'm6g.xlarge' }, architecture: 'arm64' });
      expect(hw).toEqual({
          sockets: 1,
          cores: 4,
          threads: 4,
          cpuModel: 'ARM Neoverse-N1',
          cpuVendor: 'ARM',
          memoryBytes: 16183488 * 1024,
          dmi: { sysVendor: 'Amazon EC2', productName: 'm6g.xlarge', productSerial: null, productUuid: null, biosVendor: 'Amazon EC2', biosVersion: '1.0', biosDate: null },
          instanceType: 'm6g.xlarge',
          architecture: 'arm64',
        });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads this machine's root (no DMI here: every DMI field null, CPU and memory from /proc)", async () => {
    const hw = await readNodeHardware('/', { labels: {}, architecture: 'amd64' });
    expect(hw.threads).toBeGreaterThan(0);
    expect(hw.cores).toBeGreaterThan(0);
    expect(hw.memoryBytes).toBeGreaterThan(0);
    expect(hw.cpuModel).toBeTruthy();
  });
});

