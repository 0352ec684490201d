import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProbePlan } from '../model/entry.js';
import { readImage } from '../image/read.js';
import { hostSource } from './host.js';

const plan: ProbePlan = {
  version: 'host-test',
  probes: [],
  contentBytes: (p) => (p.startsWith('/opt/') ? 8 : p === '/etc/os-release' ? 100 : undefined),
};

describe('hostSource', () => {
  it('reads a directory tree as one layer', async () => {
    const lower = mkdtempSync(join(tmpdir(), 'kensus-host-'));
    mkdirSync(join(lower, 'opt/gone'), { recursive: true });
    writeFileSync(join(lower, 'opt/gone/product.txt'), 'to be deleted');
    const handle = await hostSource.open(lower, {});
    expect(handle.source).toBe('host');
    const { files } = await readImage(handle, plan, { cacheDir: null });
    expect(files.get('/opt/gone/product.txt')?.content?.toString()).toBe('to be de');
  });

  it('reads a live process root with its environment, skipping /proc', async () => {
    const handle = await hostSource.open(`/proc/${process.pid}/root`, {});
    expect(handle.config.env.PATH).toBe(process.env.PATH);
    expect(handle.digest).toMatch(new RegExp(`^host:${process.pid}:\\d+$`));
  });

  it('says what is wrong with a bad target', async () => {
    await expect(hostSource.open('relative/dir', {})).rejects.toMatchObject({ exitCode: 2 });
    await expect(hostSource.open('999999999', {})).rejects.toMatchObject({ exitCode: 3, message: expect.stringContaining('/proc/999999999/root') });
  });
});
