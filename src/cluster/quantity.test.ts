import { describe, expect, it } from 'vitest';
import { parseMilliCpu, parseQuantity } from './quantity.js';

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
});
