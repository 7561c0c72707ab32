/**
 * Logs past what fits in a function's arguments: verification in the database of a log of more
 * than ~125 000 records, and archiving a log with more checkpoints than that (a hub signs one every
 * 10 s while it writes: two weeks of uptime). Both took the largest of their numbers with
 * `Math.max(...values)`, which overflows the stack there (found by `npm run bench:export` at 10^6).
 * The rest of both paths runs against the database in tests/e2e/audit-trail.test.ts and
 * tests/e2e/retention.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { leafHash, type Hash, type Problem } from '../../audit/index.ts';
import { largestSize } from '../../audit/retention.ts';
import { leavesInOrder } from '../../audit/verify.ts';

const MANY = 200_000;

describe('verification of a log of more records than fit in arguments', () => {
  it('orders every leaf and reports the gaps', () => {
    const bySeq = new Map<number, Hash>();
    const leaf = leafHash(Buffer.from('record'));
    for (let seq = 0; seq < MANY; seq++) if (seq !== 7 && seq !== 150_001) bySeq.set(seq, leaf);
    const problems: Problem[] = [];
    const leaves = leavesInOrder(bySeq, 0, 'big/1', problems);
    expect(leaves).toHaveLength(MANY);
    expect(problems.map((p) => [p.kind, p.at])).toEqual([['deleted', 7], ['deleted', 150_001]]);
  });
});

describe('archiving a log with more checkpoints than fit in arguments', () => {
  it('cuts at the largest authentic checkpoint', () => {
    const checkpoints = Array.from({ length: MANY }, (_, i) => ({ size: (i * 7919) % MANY }));
    expect(largestSize(checkpoints)).toBe(MANY - 1);
    expect(largestSize([])).toBe(0);
  });
});
