import { describe, expect, it } from 'vitest';
import { maskValue } from '../../policies/index.ts';

describe('display de-identification (GB/T 35273 §7.2)', () => {
  it.each([
    ['idNumber', '44010119900101123X', '4401**********123X'],
    ['mobile', '13812345678', '138****5678'],
    ['name', '张三', '张*'],
    ['name', '欧阳娜娜', '欧***'],
    ['name', '李', '*'],
    ['creditCode', '91350100M000100Y43', '91************0Y43'],
    ['address', '广东省广州市天河区体育西路1号', '广东省广州市********'],
    ['full', '汉族', '**'],
    ['none', '汉族', '汉族'],
  ] as const)('%s masks %s as %s', (kind, value, masked) => {
    expect(maskValue(kind, value)).toBe(masked);
  });

  it('keeps null as null and hides non-string values entirely', () => {
    expect(maskValue('name', null)).toBeNull();
    expect(maskValue('full', 12345)).toBeNull();
  });
});
