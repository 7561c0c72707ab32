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
