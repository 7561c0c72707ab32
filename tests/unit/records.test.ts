import { Decimal128, Long, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createRecordValidator, type Resource } from '../../schema/index.ts';

const resource = {
  code: 'T', name: 'T', field: 't', provider: 'P', summary: 's', subject: 'person', level: 'general', sharing: 'unconditional',
  binding: { connector: 'c', dataset: 'd', keyField: 'idNumber' },
  items: [
    { name: 'born', title: 'b', type: 'date', classification: 'personal', mask: 'none' },
    { name: 'count', title: 'c', type: 'integer', classification: 'personal', mask: 'none' },
    { name: 'amount', title: 'a', type: 'number', classification: 'personal', mask: 'none' },
    { name: 'ref', title: 'r', type: 'string', classification: 'personal', mask: 'none' },
    { name: 'active', title: 'x', type: 'boolean', classification: 'personal', mask: 'none' },
  ],
} satisfies Resource;

describe('upstream record validation', () => {
  const v = createRecordValidator(resource);

  it('coerces CSV strings to the item types', () => {
    expect(v.check({ born: '2001-02-03', count: '7', amount: '12.5', ref: 'x', active: 'true' })).toEqual({
      record: { born: '2001-02-03', count: 7, amount: 12.5, ref: 'x', active: true }, problems: [],
    });
  });

  it('takes BSON dates and numbers as a MongoDB department stores them', () => {
    const out = v.check({ born: new Date('2001-02-03T00:00:00Z'), count: Long.fromNumber(9), amount: Decimal128.fromString('1234.50'), ref: new ObjectId('65a1b2c3d4e5f60718293a4b') });
    expect(out).toEqual({ record: { born: '2001-02-03', count: 9, amount: 1234.5, ref: '65a1b2c3d4e5f60718293a4b' }, problems: [] });
  });

  it('withholds integers a JSON number cannot carry exactly, whatever form they arrive in', () => {
    expect(v.check({ count: Number.MAX_SAFE_INTEGER })).toEqual({ record: { count: Number.MAX_SAFE_INTEGER }, problems: [] });
    expect(v.check({ count: -Number.MAX_SAFE_INTEGER })).toEqual({ record: { count: -Number.MAX_SAFE_INTEGER }, problems: [] });
    for (const big of ['9007199254740993', 2 ** 53, Long.fromString('9007199254740993')]) {
      expect(v.check({ count: big, ref: 'kept' })).toEqual({ record: { ref: 'kept' }, problems: [{ item: 'count', rule: 'maximum' }] });
    }
    expect(v.check({ count: '-9007199254740993', ref: 'kept' })).toEqual({ record: { ref: 'kept' }, problems: [{ item: 'count', rule: 'minimum' }] });
  });

  it('withholds values that break their type, naming the item, and leaves the input untouched', () => {
    const input = { born: '2001-13-45', count: 'many', amount: 3, ref: { nested: true } };
    const out = v.check(input);
    expect(out.problems.map((p) => p.item).sort()).toEqual(['born', 'count', 'ref']);
    expect(out.record).toEqual({ amount: 3 });
    expect(input.count).toBe('many');
  });
});
