import { describe, expect, it } from 'vitest';
import { checkQuantity, parseMilliCpu, parseQuantity } from './quantity.js';

describe('Kubernetes quantities', () => {
  it('parses CPU quantities into millicores', () => {
    expect(parseMilliCpu('500m')).toBe(500);
    expect(parseMilliCpu('1.5')).toBe(1500);
    expect(parseMilliCpu('2')).toBe(2000);
    expect(parseMilliCpu('0.1')).toBe(100);
    expect(parseMilliCpu('1.9')).toBe(1900);
    expect(parseMilliCpu(4)).toBe(4000);
    expect(parseMilliCpu('250u')).toBe(1); // Kubernetes rounds sub-millicore CPU up
  });
  it('parses binary and decimal suffixes and exponents', () => {
    expect(parseQuantity('16Gi')).toBe(16 * 2 ** 30);
    expect(parseQuantity('1k')).toBe(1000);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('128974848')).toBe(128974848);
  });
  it('rejects what is not a quantity', () => {
    expect(parseQuantity('two')).toBeNull();
    expect(parseQuantity('')).toBeNull();
    expect(parseMilliCpu(undefined)).toBeNull();
    expect(parseQuantity('1.5.2')).toBeNull();
  });
  it('checks quantities before they become figures: absent, believable, or why not', () => {
    expect(checkQuantity(undefined, 'cpu')).toBeUndefined();
    expect(checkQuantity('96', 'cpu')).toEqual({ ok: true, value: 96 });
    expect(checkQuantity('2113408876Ki', 'bytes')).toEqual({ ok: true, value: 2113408876 * 1024 });
    expect(checkQuantity('8', 'count')).toEqual({ ok: true, value: 8 });
    const reasons: Array<[unknown, Parameters<typeof checkQuantity>[1], RegExp]> = [
      ['1e309', 'cpu', /not a finite number/],
      ['Infinity', 'cpu', /not a finite number/],
      ['NaN', 'cpu', /not a finite number/],
      [Number.NaN, 'cpu', /not a finite number/],
      ['-1', 'cpu', /is negative/],
      ['-500m', 'cpu', /is negative/],
      ['999999999Ei', 'bytes', /more than 1125899906842624 bytes/],
      ['1e27', 'cpu', /more than 100000 cores/],
      ['1.5', 'count', /not a whole number of devices/],
      ['two', 'cpu', /not a Kubernetes quantity/],
    ];
    for (const [value, kind, reason] of reasons) {
      const r = checkQuantity(value, kind);
      expect(r, String(value)).toMatchObject({ ok: false });
      expect((r as { reason: string }).reason, String(value)).toMatch(reason);
    }
  });
});
