import { describe, expect, it } from 'vitest';
import {
  creditCodeProblem, idNumberProblem, seededRandom, syntheticCreditCode, syntheticIdNumber,
} from '../../schema/index.ts';

describe('citizen ID numbers (GB 11643)', () => {
  it('accepts valid numbers, including an X check character', () => {
    expect(idNumberProblem('11010519491231002X')).toBeUndefined();
    expect(idNumberProblem('440106199001011235')).toBeUndefined();
  });

  it.each([
    ['440106199001011236', 'wrong check character'],
    ['44010619900101123', '17 digits followed'],
    ['4401061990010112x5', '17 digits followed'],
    ['440106199002301234', 'impossible birth date'],
  ])('refuses %s (%s)', (id, problem) => {
    expect(idNumberProblem(id)).toContain(problem);
  });

  it('generates valid synthetic numbers with the asked sex and region', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 500; i++) {
      const male = i % 2 === 0;
      const id = syntheticIdNumber(random, { region: '440304', male });
      expect(idNumberProblem(id)).toBeUndefined();
      expect(id.startsWith('440304')).toBe(true);
      expect(Number(id[16]) % 2 === 1).toBe(male);
    }
  });
});

describe('unified social credit codes (GB 32100)', () => {
  it('accepts a valid code and refuses a changed one', () => {
    const code = syntheticCreditCode(seededRandom(1));
    expect(creditCodeProblem(code)).toBeUndefined();
    const changed = code.slice(0, 17) + (code[17] === '0' ? '1' : '0');
    expect(creditCodeProblem(changed)).toContain('check character');
  });

  it('accepts a published example and refuses letters outside the alphabet', () => {
    expect(creditCodeProblem('91350100M000100Y43')).toBeUndefined();
    expect(creditCodeProblem('91350100M000100I43')).toContain('without I, O, S, V, Z');
  });
});
