import { describe, expect, it } from 'vitest';
import { KensusError } from '../errors.js';
import { FrameParser, defaultFrameLimits, frameLimitsFor, type Frame } from './frames.js';

function frame(type: string, name: Buffer | string, payload: Buffer | string, fields = ''): Buffer {
  const n = Buffer.isBuffer(name) ? name : Buffer.from(name);
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  return Buffer.concat([Buffer.from(`KENSUS1 ${type} ${n.length} ${p.length}${fields}\n`), n, p]);
}

function parseAll(stream: Buffer, chunk = stream.length): Frame[] {
  const parser = new FrameParser();
  const out: Frame[] = [];
  for (let i = 0; i < stream.length; i += chunk) out.push(...parser.push(stream.subarray(i, i + chunk)));
  parser.end();
  return out;
}

describe('FrameParser', () => {
  const weird = Buffer.concat([Buffer.from('/opt/a b\n"q\'\\'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('ü')]);
  const content = Buffer.from('KENSUS1 F 1 1\nnot a header: content bytes are opaque\n\0\x01');
  const stream = Buffer.concat([
    frame('H', '', 'pid=7 nice=19 uid=0', ' 7'),
    frame('F', weird, content, ' 123 81ed'),
    frame('S', '/usr/bin/java', '../lib/jvm/bin/java'),
    frame('X', '', '', ' 3 10 40'),
  ]);

  it('reads frames whole whatever the chunking, names and payloads byte for byte', () => {
    for (const chunk of [1, 2, 3, 7, 64, stream.length]) {
      const frames = parseAll(stream, chunk);
      expect(frames.map((f) => f.type)).toEqual(['H', 'F', 'S', 'X']);
      expect(frames[1].name.equals(weird)).toBe(true);
      expect(frames[1].payload.equals(content)).toBe(true);
      expect(frames[1].fields).toEqual(['123', '81ed']);
      expect(frames[2].payload.toString()).toBe('../lib/jvm/bin/java');
      expect(frames[3].fields).toEqual(['3', '10', '40']);
    }
  });

  const bad: Array<[string, Buffer, RegExp]> = [
    ['another program’s output', Buffer.from('total 0\ndrwxr-xr-x 2 root root\n'), /expected a 'KENSUS1' header/],
    ['an unknown frame type', frame('Z', '', ''), /unknown frame type/],
    ['a negative length', Buffer.from('KENSUS1 F -1 0\n'), /not decimal numbers/],
    ['a length with a sign or spaces', Buffer.from('KENSUS1 F +1 0\n'), /not decimal numbers/],
    ['a name longer than PATH_MAX', Buffer.from('KENSUS1 F 5000 0\n'), /name of 5000 bytes exceeds 4096/],
    ['a payload over the cap', Buffer.from('KENSUS1 F 1 99999999999\n'), /payload of 99999999999 bytes exceeds/],
    ['a header without a newline', Buffer.alloc(300, 0x41), /header line longer than 256 bytes/],
    ['shell metacharacters in a field', Buffer.from('KENSUS1 F 0 0 $(reboot)\n'), /bad header field/],
    ['a stream cut inside a frame', frame('F', '/a', 'abcdef').subarray(0, 20), /ended inside a frame/],
    ['a stream cut inside a header', Buffer.from('KENSUS1 F 1'), /ended inside a header/],
  ];
  for (const [what, input, message] of bad) {
    it(`rejects ${what} with a clear error`, () => {
      let err: unknown;
      try {
        parseAll(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KensusError);
      expect((err as KensusError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/tracker's output is malformed at byte \d+/);
    });
  }

  it('bounds the whole stream and stays failed afterwards', () => {
    const parser = new FrameParser({ maxHeader: 256, maxName: 4096, maxPayload: 1000, maxTotal: 100 });
    expect(() => parser.push(frame('F', '/a', Buffer.alloc(90)))).toThrow(/exceeds 100 bytes/);
    expect(() => parser.push(frame('X', '', ''))).toThrow(/exceeds 100 bytes/);
  });

  it('does not buffer a declared payload larger than the cap before failing', () => {
    const parser = new FrameParser({ maxHeader: 256, maxName: 4096, maxPayload: 10, maxTotal: 1 << 20 });
    expect(() => parser.push(Buffer.from('KENSUS1 F 2 11\n/a'))).toThrow(/payload of 11 bytes exceeds 10/);
  });
});

describe('FrameParser against lying and oversized frames', () => {
  const limits = frameLimitsFor([{ maxBytes: 1024 }, { maxBytes: 64 }], { maxBytes: 4096, envCap: 100, packageCap: 200 });

  it('buffers only what `keep` wants of a payload and drops the rest as it arrives', () => {
    const parser = new FrameParser({ ...defaultFrameLimits }, (type, name) => (type === 'F' && name.toString() === '/opt/keep' ? 16 : 0));
    const big = 10 << 20;
    const out: Frame[] = [];
    out.push(...parser.push(Buffer.from(`KENSUS1 F 9 ${big} ${big} 81a4\n/opt/keep`)));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let sent = 0; sent < big; sent += chunk.length) {
      out.push(...parser.push(chunk));
      // never more than the kept 16 bytes plus one chunk waiting
      expect(parser.held).toBeLessThanOrEqual(chunk.length);
    }
    out.push(...parser.push(frame('F', '/opt/other', Buffer.alloc(5000, 0x62), ' 5000 81a4')));
    out.push(...parser.push(frame('X', '', '', ' 1 2')));
    parser.end();
    expect(out.map((f) => [f.type, f.name.toString(), f.payload.length])).toEqual([
      ['F', '/opt/keep', 16],
      ['F', '/opt/other', 0],
      ['X', '', 0],
    ]);
    expect(out[0].payload.toString()).toBe('a'.repeat(16));
    expect(parser.held).toBe(0);
  });

  it('joins a frame that arrives in many chunks into the same bytes', () => {
    const payload = Buffer.alloc(3 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    const stream = frame('F', '/var/lib/rpm/Packages', payload, ` ${payload.length} 81a4`);
    const parser = new FrameParser();
    const out: Frame[] = [];
    for (let i = 0; i < stream.length; i += 65536) out.push(...parser.push(stream.subarray(i, i + 65536)));
    expect(out).toHaveLength(1);
    expect(out[0].payload.equals(payload)).toBe(true);
  });

  const lies: Array<[string, Buffer, RegExp]> = [
    ['a content frame larger than any byte cap of the plan', Buffer.from('KENSUS1 F 2 1025 1025 81a4\n/a'), /payload of 1025 bytes exceeds 1024 \(the most the scan keeps of a 'F' frame\)/],
    ['an environment larger than its cap', Buffer.from('KENSUS1 E 0 101\n'), /payload of 101 bytes exceeds 100/],
    ['rpm rows larger than their cap', Buffer.from('KENSUS1 Q 0 201\n'), /payload of 201 bytes exceeds 200/],
    ['a progress frame with a payload', Buffer.from('KENSUS1 P 0 5000 1 1\n'), /payload of 5000 bytes exceeds 4096/],
    ['a directory frame with a payload', Buffer.from('KENSUS1 D 2 1 0 41ed\n/a'), /payload of 1 bytes exceeds 0/],
    ['content frames past the byte budget', Buffer.concat([frame('F', '/a', Buffer.alloc(1024), ' 1024 81a4'), frame('F', '/b', Buffer.alloc(1024), ' 1024 81a4'), frame('F', '/c', Buffer.alloc(1024), ' 1024 81a4'), frame('F', '/d', Buffer.alloc(1024), ' 1024 81a4'), frame('F', '/e', Buffer.alloc(1), ' 1 81a4')]), /content frames exceed the 4096-byte budget/],
  ];
  for (const [what, input, message] of lies) {
    it(`rejects ${what} at its header`, () => {
      const parser = new FrameParser(limits);
      expect(() => parser.push(input)).toThrow(message);
    });
  }
});

describe('FrameParser sink', () => {
  it('hands out the frames before a malformed byte of the same chunk, then throws', () => {
    const got: string[] = [];
    const parser = new FrameParser();
    const chunk = Buffer.concat([frame('H', '', 'pid=42 nice=0 uid=0'), Buffer.alloc(300)]);
    expect(() => parser.push(chunk, (f) => got.push(`${f.type} ${f.payload}`))).toThrow(/header line longer than 256 bytes/);
    expect(got).toEqual(['H pid=42 nice=0 uid=0']);
  });
});
