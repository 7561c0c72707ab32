/**
 * Logs past what fits in a function's arguments, or in a Map: verification in the database of a
 * log of more than ~125 000 records, and archiving a log with more checkpoints than that (a hub
 * signs one every 10 s while it writes: two weeks of uptime). Both took the largest of their numbers
 * with `Math.max(...values)`, which overflows the stack there (found by `npm run bench:export` at
 * 10^6). Verification also kept every leaf in a Map by sequence number, which holds at most 2^24
 * entries (a day of a busy hub process) and 3–4 GB at 10^8: it now folds them into the tree as it
 * reads (LeafFold), holding none for a log read in order. The rest of both paths runs against the
 * database in tests/e2e/audit-trail.test.ts and tests/e2e/retention.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Frontier, LeafFold, leafHash, rootOf, type Hash, type Problem } from '../../audit/index.ts';
import { largestSize } from '../../audit/retention.ts';

const MANY = 200_000;
const leafOf = (seq: number): Hash => leafHash(Buffer.from(`record ${seq}`));

describe('verification of a large log', () => {
  it('folds a log read in order holding no leaf, with the roots of the signed sizes, and reports the gaps', () => {
    const problems: Problem[] = [];
    const fold = new LeafFold('big/1', 0, new Frontier(), new Set([1000, 7]), problems);
    let heldInOrder = 0;
    for (let seq = 0; seq < MANY; seq++) {
      if (seq === 150_001) continue;
      fold.add(seq, leafOf(seq));
      if (seq < 150_001) heldInOrder = Math.max(heldInOrder, fold.held);
    }
    expect(heldInOrder).toBe(0);
    // Past the missing record nothing can be folded: those wait.
    expect(fold.held).toBe(MANY - 150_002);
    const content = fold.finish();
    expect(content).toMatchObject({ complete: 150_001, records: MANY });
    expect(problems.map((p) => [p.kind, p.at, p.detail])).toEqual([['deleted', 150_001, 'record 150001 is missing']]);
    const first = Array.from({ length: 1000 }, (_, seq) => leafOf(seq));
    expect(content.roots.get(1000)).toEqual(rootOf(first));
    expect(content.roots.get(7)).toEqual(rootOf(first.slice(0, 7)));
  });

  it('folds leaves read out of order once the gap before them closes', () => {
    const problems: Problem[] = [];
    const fold = new LeafFold('big/2', 0, new Frontier(), new Set([6]), problems);
    for (const seq of [0, 1, 4, 5, 2, 3]) fold.add(seq, leafOf(seq));
    expect(fold.held).toBe(0);
    const content = fold.finish();
    expect(problems).toEqual([]);
    expect(content.complete).toBe(6);
    expect(content.roots.get(6)).toEqual(rootOf([0, 1, 2, 3, 4, 5].map(leafOf)));
  });

  it('holds at most its limit of leaves behind a gap, then only their numbers, and still names every gap and repeat', () => {
    const problems: Problem[] = [];
    const fold = new LeafFold('big/3', 0, new Frontier(), new Set(), problems, 100);
    for (let seq = 0; seq < 10_000; seq++) {
      if (seq === 10 || (seq >= 5000 && seq < 5003) || seq === 9998) continue;
      fold.add(seq, leafOf(seq));
      expect(fold.held).toBeLessThanOrEqual(100);
    }
    // Out of order past the limit: a missing record that turns up late, and a repeat.
    expect(fold.has(9998)).toBe(false);
    fold.add(9998, leafOf(9998));
    expect(fold.has(9998)).toBe(true);
    expect(fold.has(4000)).toBe(true);
    expect(fold.has(5001)).toBe(false);
    const content = fold.finish();
    expect(content).toMatchObject({ complete: 10, records: 10_000 });
    expect(problems.map((p) => [p.kind, p.at, p.detail])).toEqual([['deleted', 10, 'record 10 is missing'], ['deleted', 5000, 'records 5000–5002 are missing']]);
  });
});

describe('archiving a log with more checkpoints than fit in arguments', () => {
  it('cuts at the largest authentic checkpoint', () => {
    const checkpoints = Array.from({ length: MANY }, (_, i) => ({ size: (i * 7919) % MANY }));
    expect(largestSize(checkpoints)).toBe(MANY - 1);
    expect(largestSize([])).toBe(0);
  });
});
