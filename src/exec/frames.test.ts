import { describe, expect, it } from 'vitest';
import { KensusError } from '../errors.js';
import { FrameParser, type Frame } from './frames.js';

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
