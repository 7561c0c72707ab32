/**
 * CPU time of processes the benchmark did not fork itself, read from /proc (Linux): the
 * MongoDB-wire server started by provisionMongo, found by its data directory on its command line.
 * Elsewhere (or with MONGODB_URI) the figures are simply absent.
 */
import { readdir, readFile } from 'node:fs/promises';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The pid of a process whose command line contains `needle`, if /proc shows one. */
export async function findPidByArgument(needle: string): Promise<number | undefined> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) return Number(entry);
  }
  return undefined;
}

/** The whole machine's CPU time since boot, all cores, in clock ticks: busy and in total (Linux /proc/stat), or null. */
export async function machineCpuTicks(): Promise<{ busy: number; total: number } | null> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const line = stat?.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest time is counted in user already)
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return null;
  const total = ticks.reduce((s, t) => s + t, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** Per cent of all cores busy between two readings of machineCpuTicks (any process, this machine's other tenants included). */
export function busyPercent(before: { busy: number; total: number } | null, after: { busy: number; total: number } | null): number | null {
  if (!before || !after || after.total <= before.total) return null;
  return Math.round((1000 * (after.busy - before.busy)) / (after.total - before.total)) / 10;
}

/** User + system CPU time of a process, microseconds, or null when unreadable. */
export async function processCpuMicros(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return null;
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}
