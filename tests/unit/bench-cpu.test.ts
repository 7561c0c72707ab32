/**
 * The bench's reading of the whole machine's CPU (the `busy %` column): what share of all cores
 * was busy between two readings of /proc/stat.
 */
import { describe, expect, it } from 'vitest';
import { busyPercent, machineCpuTicks } from '../../bench/cpu.ts';

describe('machine CPU in the bench', () => {
  it('is the busy share of all ticks between two readings, to one decimal', () => {
    expect(busyPercent({ busy: 1_000, total: 4_000 }, { busy: 1_150, total: 4_200 })).toBe(75);
    expect(busyPercent({ busy: 0, total: 0 }, { busy: 1, total: 3 })).toBe(33.3);
  });

  it('is unknown without two readings that advanced', () => {
    expect(busyPercent(null, { busy: 1, total: 2 })).toBeNull();
    expect(busyPercent({ busy: 1, total: 2 }, null)).toBeNull();
    expect(busyPercent({ busy: 1, total: 2 }, { busy: 1, total: 2 })).toBeNull();
  });

  it('counts this process spinning as busy time of the machine', async () => {
    const before = await machineCpuTicks();
    expect(before).not.toBeNull();
    expect(before!.busy).toBeLessThanOrEqual(before!.total);
    const until = performance.now() + 300;
    while (performance.now() < until) Math.sqrt(Math.random());
    const after = await machineCpuTicks();
    // One core of this machine busy for 300 ms is at least 20 ticks of busy time (USER_HZ 100).
    expect(after!.busy - before!.busy).toBeGreaterThanOrEqual(20);
  });
});
