import { describe, expect, it } from 'vitest';
import type { ProbePlan } from '../model/entry.js';
import { stringsFromGrep, TrackerCollector } from './collect.js';
import type { Frame } from './frames.js';

const search = { needles: ['Java HotSpot(TM) 64-Bit Server VM (', 'Java HotSpot(TM) 64-Bit Server VM'], budget: 1 << 20, window: 12 };

const plan: ProbePlan = {
  version: 'test',
  probes: [{ glob: '*/libjvm.so', maxBytes: 0 }],
  contentBytes: (p) => (p.endsWith('/libjvm.so') ? 0 : undefined),
  scanFor: (p) => (p.endsWith('/libjvm.so') ? search : undefined),
};

const frame = (type: Frame['type'], name: string, payload: string, fields: string[] = []): Frame => ({ type, name: Buffer.from(name), payload: Buffer.from(payload, 'latin1'), fields });

describe("the tracker's strings answer", () => {
  it("keeps each needle's first line, its window cut to the request's, with no offset", () => {
    const lines = ['Java HotSpot(TM) 64-Bit Server VM', 'Java HotSpot(TM) 64-Bit Server VM (21.0.5+9-LTS-239) for linux', 'Java HotSpot(TM) 64-Bit Server VM (other)'].join('\n');
    expect(stringsFromGrep(lines, search)).toEqual([
      { needle: 'Java HotSpot(TM) 64-Bit Server VM (', offset: null, text: 'Java HotSpot(TM) 64-Bit Server VM (21.0.5+9-LTS' },
      { needle: 'Java HotSpot(TM) 64-Bit Server VM', offset: null, text: 'Java HotSpot(TM) 64-Bit Server VM' },
    ]);
    expect(stringsFromGrep('nothing here\n', search)).toBeUndefined();
  });

  it('ignores lines with bytes grep -o of printable windows cannot send, and G frames for paths the plan does not search', () => {
    const c = new TrackerCollector(plan);
    c.add(frame('F', '/opt/jre/lib/server/libjvm.so', '', ['24109200', '81a4']));
    c.add(frame('F', '/opt/other.so', '', ['10', '81a4']));
    c.add(frame('G', '/opt/jre/lib/server/libjvm.so', 'Java HotSpot(TM) 64-Bit Server VM\x01\x02\nJava HotSpot(TM) 64-Bit Server VM'));
    c.add(frame('G', '/opt/other.so', 'Java HotSpot(TM) 64-Bit Server VM'));
    c.add(frame('G', '/opt/never-sent/libjvm.so', 'Java HotSpot(TM) 64-Bit Server VM'));
    expect(c.result.files.get('/opt/jre/lib/server/libjvm.so')?.found).toEqual([{ needle: 'Java HotSpot(TM) 64-Bit Server VM', offset: null, text: 'Java HotSpot(TM) 64-Bit Server VM' }]);
    expect(c.result.files.has('/opt/other.so')).toBe(false);
    expect(c.result.files.has('/opt/never-sent/libjvm.so')).toBe(false);
  });
});
