/**
 * Canonical JSON (RFC 8785) of records: the fast path (one JSON.stringify of members in JCS
 * order) must write exactly what the reference library writes, or leave the value to it; a value
 * JCS cannot represent throws either way. Property-based against `canonicalize`, the reference.
 */
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalText } from '../../audit/canonical.ts';
import { packRecord, subjectHash, type AccessRecord } from '../../audit/index.ts';
import { recordLine, writeRecordLine } from '../../audit/record.ts';

const reference = (value: object): string | Error => {
  try {
    return canonicalize(value) ?? new Error('undefined');
  } catch (error) {
    return error as Error;
  }
};
const ours = (value: object): string | Error => {
  try {
    return canonicalText(value);
  } catch (error) {
    return error as Error;
  }
};
/** Both write the same text, or both refuse. */
const agree = (value: object): void => {
  const [a, b] = [reference(value), ours(value)];
  if (typeof a === 'string') expect(b).toBe(a);
  else expect(b).toBeInstanceOf(Error);
};

// Strings of any UTF-16 code units (lone surrogates too), names that JSON.stringify would reorder
// (array indices) or an object literal would take for the prototype, dates, numbers of every kind.
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary-ascii', maxLength: 12 }), fc.constantFrom('\\ud800', '\ud800', '\udc00x', '', '"', '\\', '\u2028', '__proto__'));
const name = fc.oneof(text, fc.constantFrom('0', '1', '10', '9', '01', '-1', '1.5', '__proto__', 'a', 'B', 'é', '\u{1F600}'));
const scalar = fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.date({ noInvalidDate: false }));
const value = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 4 }), tie('object')),
  object: fc.array(fc.tuple(name, tie('value')), { maxLength: 6 }).map((members) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of members) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  }),
}));

describe('canonical JSON of records', () => {
  it('agrees with the reference on any object, in any member order', () => {
    fc.assert(fc.property(value.object, (o) => agree(o)), { seed: 20_261_206, numRuns: 3000 });
  });

  it('agrees with the reference on records as packed for a line and as read back', () => {
    const key = Buffer.alloc(32, 3);
    const record = (over: Partial<AccessRecord>): AccessRecord => ({
      at: new Date('2026-12-06T21:00:00.123Z'), day: '2026-12-06', requestId: 'req-1', action: 'read', system: 'mz-dibao', department: 'MZ',
      principalKind: 'system', operator: '操作员-07', purpose: '440000-DIBAO-001', caseId: 'DB-2026-1', resource: 'GA-HUKOU', provider: 'GA',
      subjectType: 'person', subject: subjectHash(key, '440106199001011234'), itemsReturned: ['name'], itemsMasked: ['address'], itemsRefused: [],
      itemsVerified: [], grants: [{ id: 'G-1', version: 2 }], decision: 'allow', code: null, denial: null, reason: '说明 "quoted" \\ \u2028', consent: null, attempt: 3,
      ...over,
    });
    const cases = [record({}), record({ onBehalfOf: 'GZ/gz-hub', credential: 'jwt' }), record({ grants: [{ version: 2, id: 'G-1' } as never] }), record({ at: new Date(Number.NaN) })];
    for (const r of [...cases, ...[...cases].reverse()]) {
      const line = packRecord(r, 'yiwang-hub/h/1', 41);
      // Every member kept but nulls and empty lists, in canonical order, the time as JSON writes it.
      const kept = Object.entries(r).filter(([, v]) => v !== null && !(Array.isArray(v) && v.length === 0));
      expect(Object.entries(line)).toEqual([...kept.map(([k, v]) => [k, v instanceof Date && !Number.isNaN(v.getTime()) ? v.toJSON() : v]), ['log', 'yiwang-hub/h/1'], ['seq', 41]].sort(([a], [b]) => (a! < b! ? -1 : 1)));
      agree(line);
      agree(JSON.parse(canonicalText(line)) as object);
    }
    expect(canonicalText(packRecord(cases[0]!, 'log', 0))).toBe(canonicalize({ ...packRecord(cases[0]!), log: 'log', seq: 0 }));
  });

  it('refuses what JCS cannot represent, as the reference does', () => {
    for (const bad of [{ a: '\ud800' }, { a: ['x', '\udfff'] }, { a: Number.NaN }, { a: [Number.POSITIVE_INFINITY] }, { a: { b: '\ud800' } }]) {
      expect(() => canonicalText(bad)).toThrow();
    }
  });

  // The line a record is stored as, written member by member: exactly the canonical JSON of the
  // packed record (the reference way), or the same refusal, whatever the record holds.
  const line = (r: object, seq: number): string | Error => {
    try {
      return recordLine(r as AccessRecord, 'yiwang-hub/h/1', seq);
    } catch (error) {
      return error as Error;
    }
  };
  // The same line written as UTF-8 into a buffer (writeRecordLine, as a block's lines are), from a
  // buffer far too small, grown each time it has no room: what it keeps is the line, the whole line.
  const writtenLine = (r: object, seq: number, room = 8): string | Error => {
    try {
      const sink = { buf: Buffer.alloc(room, 0x2a), pos: 3, chars: 0 };
      while (!writeRecordLine(r as AccessRecord, 'yiwang-hub/h/1', seq, sink)) {
        expect([sink.pos, sink.chars]).toEqual([3, 0]);
        const grown = Buffer.alloc(2 * sink.buf.length, 0x2a);
        sink.buf.copy(grown);
        sink.buf = grown;
      }
      const text = sink.buf.toString('utf8', 3, sink.pos);
      expect(sink.chars).toBe(text.length);
      return text;
    } catch (error) {
      return error as Error;
    }
  };
  const packedLine = (r: object, seq: number): string | Error => {
    try {
      return canonicalize(packRecord(r as AccessRecord, 'yiwang-hub/h/1', seq)) ?? new Error('undefined');
    } catch (error) {
      return error as Error;
    }
  };
  const RECORD_NAMES = ['at', 'day', 'requestId', 'action', 'system', 'department', 'principalKind', 'operator', 'purpose', 'caseId', 'resource', 'provider',
    'subjectType', 'subject', 'itemsReturned', 'itemsMasked', 'itemsRefused', 'itemsVerified', 'grants', 'decision', 'code', 'denial', 'reason', 'consent',
    'attempt', 'onBehalfOf', 'credential', 'log', 'seq'] as const;
  const grant = fc.record({ id: text, version: fc.oneof(fc.integer(), fc.double()) });
  const member = fc.oneof(value.value, fc.array(text, { maxLength: 3 }), fc.array(grant, { maxLength: 2 }), fc.array(fc.oneof(grant.map(({ id, version }) => ({ version, id })), value.object), { maxLength: 2 }));
  const record = fc.tuple(
    fc.array(fc.tuple(fc.constantFrom(...RECORD_NAMES), member), { maxLength: 24 }),
    fc.array(fc.tuple(name, member), { maxLength: 2 }),
    fc.nat(),
  ).map(([known, other, seq]) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of [...known, ...other]) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return { record: o, seq };
  });

  it('writes a record\'s line exactly as the canonical JSON of the packed record, or refuses it as that does', () => {
    fc.assert(fc.property(record, ({ record: r, seq }) => {
      const [expected, got, written] = [packedLine(r, seq), line(r, seq), writtenLine(r, seq)];
      if (typeof expected === 'string') expect([got, written]).toEqual([expected, expected]);
      else expect([got, written]).toEqual([expect.any(Error), expect.any(Error)]);
    }), { seed: 20_261_207, numRuns: 4000 });
  });

  // Records of AccessRecord's members only, every one present or absent, of its type or not: the
  // hub's own records take a path of their own (members read by name), held to the same reference.
  const accessMember = {
    at: fc.oneof(fc.date({ noInvalidDate: false }), fc.constantFrom(new Date(Number.NaN), new Date(-8.64e15), new Date(8.64e15), new Date(0)), text, fc.constant(null)),
    attempt: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e21, 5e-324), fc.constant(null), text),
    grants: fc.oneof(
      fc.array(grant, { maxLength: 3 }),
      fc.array(fc.oneof(grant, grant.map(({ id, version }) => ({ version, id })), grant.map((g) => ({ ...g, extra: 1 })), value.object, text), { maxLength: 3 }),
    ),
    items: fc.oneof(fc.array(text, { maxLength: 3 }), fc.array(member, { maxLength: 2 }), fc.constant([])),
    text: fc.oneof(text, fc.constant(null), fc.constant(undefined), value.value),
  };
  const accessRecord = fc.record({
    at: accessMember.at, day: accessMember.text, requestId: accessMember.text, action: accessMember.text, system: accessMember.text,
    department: accessMember.text, principalKind: accessMember.text, operator: accessMember.text, purpose: accessMember.text, caseId: accessMember.text,
    resource: accessMember.text, provider: accessMember.text, subjectType: accessMember.text, subject: accessMember.text,
    itemsReturned: accessMember.items, itemsMasked: accessMember.items, itemsRefused: accessMember.items, itemsVerified: accessMember.items,
    grants: accessMember.grants, decision: accessMember.text, code: accessMember.text, denial: accessMember.text, reason: accessMember.text,
    consent: accessMember.text, attempt: accessMember.attempt, onBehalfOf: accessMember.text, credential: accessMember.text, log: accessMember.text, seq: accessMember.attempt,
  }, { requiredKeys: ['at', 'requestId', 'action', 'system', 'department', 'principalKind', 'itemsReturned', 'itemsMasked', 'itemsRefused', 'itemsVerified', 'grants', 'decision'] });

  it('writes the line of a record of AccessRecord\'s members exactly as the reference, or refuses it as that does', () => {
    fc.assert(fc.property(accessRecord, fc.nat(), (r, seq) => {
      const [expected, got, written] = [packedLine(r, seq), line(r, seq), writtenLine(r, seq)];
      if (typeof expected === 'string') expect([got, written]).toEqual([expected, expected]);
      else expect([got, written]).toEqual([expect.any(Error), expect.any(Error)]);
    }), { seed: 20_261_208, numRuns: 4000 });
  });

  it('writes the lines of records as the hub makes them as the reference does', () => {
    const key = Buffer.alloc(32, 5);
    const base: AccessRecord = {
      at: new Date('2026-12-07T05:00:00.001Z'), day: '2026-12-07', requestId: 'req-9', action: 'read', system: 'mz-dibao', department: 'MZ',
      principalKind: 'system', operator: '操作员-07', purpose: '440000-DIBAO-001', caseId: 'DB-2026-9', resource: 'GA-HUKOU', provider: 'GA',
      subjectType: 'person', subject: subjectHash(key, '440106199001011234'), itemsReturned: ['name', 'birthDate'], itemsMasked: ['address'], itemsRefused: [],
      itemsVerified: [], grants: [{ id: 'G-1', version: 2 }, { id: 'G-7', version: 1 }], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null,
    };
    const cases: AccessRecord[] = [
      base,
      { ...base, decision: 'deny', code: 'FORBIDDEN', denial: 'NO_GRANT', reason: 'no grant "G-9" covers \\ this\n(说明)\u2028', itemsReturned: [], itemsRefused: ['name'] },
      { ...base, action: 'verify', itemsReturned: [], itemsVerified: ['motherIdNumber'], attempt: 4, onBehalfOf: 'GZ/gz-hub', credential: 'jwt' },
      { ...base, at: new Date(Number.NaN), operator: '\u{1F600} emoji', caseId: 'tab\there' },
    ];
    for (const [i, r] of cases.entries()) {
      const expected = canonicalize(packRecord(r, 'yiwang-hub/h/1', i));
      expect([recordLine(r, 'yiwang-hub/h/1', i), writtenLine(r, i)]).toEqual([expected, expected]);
    }
    // A lone surrogate has no canonical JSON: refused, as the reference way refuses it.
    expect(() => recordLine({ ...base, caseId: 'x\ud800' }, 'log', 0)).toThrow();
    expect(() => recordLine({ ...base, itemsReturned: ['\udc00'] }, 'log', 0)).toThrow();
    expect(() => recordLine({ ...base, attempt: Number.NaN }, 'log', 0)).toThrow();
    // Characters at each width of UTF-8 (1, 2, 3 and 4 bytes, and the edges between), in every member
    // that holds text, from every size of buffer up to the whole line: never a byte more or less.
    const wide: AccessRecord = {
      ...base, operator: '\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}', caseId: '办件'.repeat(40), reason: 'é'.repeat(30) + '"\u0080',
      system: '系统'.repeat(20), itemsReturned: ['姓名', '\u0080'], grants: [{ id: 'G-编号\u07ff', version: 3 }], onBehalfOf: '广州/\u{1F600}',
    };
    const expected = canonicalize(packRecord(wide, 'yiwang-hub/h/1', 7));
    for (let room = 4; room <= Buffer.byteLength(expected!) + 8; room++) expect(writtenLine(wide, 7, room)).toBe(expected);
    for (const bad of [{ ...base, caseId: 'x\ud800' }, { ...base, itemsReturned: ['\udc00'] }, { ...base, attempt: Number.NaN }]) expect(writtenLine(bad, 0)).toBeInstanceOf(Error);
  });
});
