import { describe, expect, it } from 'vitest';
import { parseIbmAnnotations, parseRatio } from './ibm-annotations.js';

describe('IBM License Service annotations', () => {
  it('parses annotations and ratios', () => {
    expect(parseRatio('3:1')).toEqual([3, 1]);
    expect(parseRatio(' 1 : 2 ')).toEqual([1, 2]);
    expect(parseRatio('x')).toBeNull();
    expect(parseRatio('0:1')).toBeNull();
    expect(parseIbmAnnotations({ productName: 'no id' })).toBeNull();
    expect(parseIbmAnnotations({ productID: 'x', productChargedContainers: 'a, b' })!.chargedContainers).toEqual(['a', 'b']);
  });
});
