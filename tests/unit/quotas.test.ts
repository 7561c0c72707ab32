/**
 * The slot store behind daily quotas: units 1…1 024 one document each, above that leased blocks of
 * 64 handed out from memory. Two SlotStores on one database stand for two hub processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_FROM, LEASE_SIZE, QuotaCounter, SLOT_COLLECTION, SlotStore, slotStart } from '../../store/index.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

const DAY = '2026-11-23';

let t: TestDatabase;
beforeAll(async () => {
  t = await testDatabase('quotas');
  await new SlotStore(t.db).ensureIndexes();
});
afterAll(() => t.drop());

/** Takes one unit `count` times, `parallel` at a time, alternating between the stores; returns every unit served. */
async function takeOneByOne(stores: SlotStore[], key: string, count: number, limit: number, parallel = 64): Promise<number[]> {
  const served: number[] = [];
  for (let i = 0; i < count; i += parallel) {
    const round = Array.from({ length: Math.min(parallel, count - i) }, (_, j) => stores[(i + j) % stores.length]!.take(key, DAY, 1, limit, true));
    for (const units of await Promise.all(round)) served.push(...units);
  }
  return served;
}

const slotDocs = (key: string) => t.db.collection(SLOT_COLLECTION).countDocuments({ key });

describe('slot layout', () => {
  it('keeps single units up to 1 024 and blocks of 64 above, the same for every limit', () => {
    expect([1, 2, 1024].map(slotStart)).toEqual([1, 2, 1024]);
    expect([1025, 1026, 1088, 1089, 1152, 1153].map(slotStart)).toEqual([1025, 1025, 1025, 1089, 1089, 1153]);
    expect(LEASE_FROM).toBe(1024);
    expect(LEASE_SIZE).toBe(64);
  });
});

describe('leased blocks', () => {
  it('inserts one slot document per 64 units above 1 024: 1 664 units cost 1 034 documents', async () => {
    const store = new SlotStore(t.db);
    const served = await takeOneByOne([store], 'q|busy|' + DAY, 1024 + 640, 1_000_000);
    expect(served).toEqual(Array.from({ length: 1664 }, (_, i) => i + 1));
    expect(await slotDocs('q|busy|' + DAY)).toBe(1024 + 10);
  });

  it('never serves a unit twice nor above the limit from two processes, and serves the limit when both are asked to the end', async () => {
    const key = 'q|shared|' + DAY;
    const a = new SlotStore(t.db);
    const b = new SlotStore(t.db);
    const served = await takeOneByOne([a, b], key, 1400, 1100);
    expect(new Set(served).size).toBe(served.length);
    expect(Math.max(...served)).toBeLessThanOrEqual(1100);
    expect(served).toHaveLength(1100);
    // Both are refused now.
    expect(await a.take(key, DAY, 1, 1100, true)).toEqual([]);
    expect(await b.take(key, DAY, 1, 1100, true)).toEqual([]);
  });

  it('stops at a limit inside a block: 1 050 of 1 100 asked, then refuses', async () => {
    const key = 'q|inside|' + DAY;
    const store = new SlotStore(t.db);
    const served = await takeOneByOne([store], key, 1100, 1050);
    expect(served).toHaveLength(1050);
    expect(Math.max(...served)).toBe(1050);
    // A raised limit serves the rest of the block this process holds, then claims the next.
    expect(await store.take(key, DAY, 40, 1200, true)).toEqual(Array.from({ length: 40 }, (_, i) => 1051 + i));
  });

  it('a process that starts later begins after the blocks others hold; used() counts its own unused lease out', async () => {
    const key = 'q|restart|' + DAY;
    const first = new SlotStore(t.db);
    await takeOneByOne([first], key, 1030, 1_000_000);
    expect(await new QuotaCounter(first).used('restart', DAY)).toBe(1030);
    const later = new SlotStore(t.db);
    // The block 1025–1088 is the first process's lease: the later one gets 1089, not 1025 or 1031.
    expect(await later.take(key, DAY, 1, 1_000_000, true)).toEqual([1089]);
    // Seen from the first process: its 58 unused units are not counted; the later one's block is.
    expect(await new QuotaCounter(first).used('restart', DAY)).toBe(1152 - 58);
  });
});
