/**
 * Display de-identification (GB/T 35273 §7.2). Pure string transforms; the policy decides which
 * one applies to which item.
 */
import type { MaskKind } from '../schema/index.ts';

const star = (n: number) => '*'.repeat(Math.max(0, n));

function keepEnds(value: string, head: number, tail: number): string {
  const chars = Array.from(value);
  if (chars.length <= head + tail) return star(chars.length);
  return chars.slice(0, head).join('') + star(chars.length - head - tail) + chars.slice(chars.length - tail).join('');
}

/** Masks one value. Non-string values are masked entirely (`null`), since a partial number misleads. */
export function maskValue(kind: MaskKind, value: unknown): unknown {
  if (value === null || value === undefined || kind === 'none') return value;
  if (typeof value !== 'string') return null;
  switch (kind) {
    case 'name': {
      // 张三 → 张*; 欧阳娜娜 → 欧***
      const chars = Array.from(value);
      return chars.length <= 1 ? '*' : chars[0] + star(chars.length - 1);
    }
    case 'idNumber':
      // 440106199001011234 → 4401**********1234? GB/T 35273 example keeps 4 + last 4.
      return keepEnds(value, 4, 4);
    case 'mobile':
      return keepEnds(value, 3, 4);
    case 'creditCode':
      return keepEnds(value, 2, 4);
    case 'address': {
      // Keep the first 6 characters (province/city/district), hide the rest.
      const chars = Array.from(value);
      return chars.slice(0, 6).join('') + star(Math.min(8, Math.max(0, chars.length - 6)));
    }
    case 'full':
      return star(Math.min(8, Array.from(value).length));
  }
}
