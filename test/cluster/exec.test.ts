import { describe, expect, it } from 'vitest';
import { Demuxer, exitStatus } from './exec.js';

function frame(stream: number, text: string): Buffer {
  const body = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

describe('docker stream demultiplexing', () => {
  it('splits frames whatever the chunk boundaries', () => {
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world'), frame(1, '')]);
    for (const size of [1, 3, 7, 8, 9, all.length]) {
      const got: [number, string][] = [];
      const d = new Demuxer((s, data) => got.push([s, data.toString()]));
      for (let i = 0; i < all.length; i += size) d.push(all.subarray(i, i + size));
      const merged: Record<number, string> = {};
      for (const [s, t] of got) merged[s] = (merged[s] ?? '') + t;
      expect(merged).toEqual({ 1: 'hello world', 2: 'oops' });
    }
  });
});

describe('exec status', () => {
  it('is Success for 0 and NonZeroExitCode with the code as cause otherwise', () => {
    expect(exitStatus(0, ['true'])).toEqual({ metadata: {}, status: 'Success' });
    expect(exitStatus(2, ['sh', '-c', 'exit 2'])).toMatchObject({ reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '2' }] } });
  });
});
