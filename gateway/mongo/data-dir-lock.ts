/**
 * One MongoDB-wire server per data directory, even across crashes.
 *
 * The provisioner holds `<dataDir>/hub-mongo.lock` while a server it started runs there. The file is
 * created with O_EXCL and records the owner (the hub process), the server's pid and port, the binary
 * and the start time; processes are identified by pid and, on Linux, their start time (so a reused
 * pid is not mistaken for them). At start:
 * - no lock: take it;
 * - the owner is alive: the directory is in use by another hub: refuse (ProvisionError);
 * - the owner is dead (killed with SIGKILL, say) but its server still runs: that server is stopped
 *   (SIGTERM, then SIGKILL after a grace period), the stale lock removed, and a fresh server started.
 *   Stopping rather than adopting keeps one rule: the process holding the lock owns the server.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ProvisionError } from './errors.ts';

export const LOCK_FILE = 'hub-mongo.lock';

export interface LockInfo {
  /** The hub process that started the server. */
  readonly owner: number;
  readonly ownerStart?: string;
  readonly server?: number;
  readonly serverStart?: string;
  readonly port?: number;
  readonly command: string;
  readonly startedAt: string;
  readonly nonce: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Records the started server in the lock file. */
  recordServer(pid: number, port: number): Promise<void>;
  /** Removes the lock file (if it is still ours). Idempotent. */
  release(): Promise<void>;
}

const TERM_GRACE_MS = 10_000;
const KILL_GRACE_MS = 5_000;
const ATTEMPTS = 5;

/** Process start time in clock ticks since boot (Linux), to tell a pid's process from a later one with the same pid. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process `pid` (started at `start`, when known) is still running. */
export function isAlive(pid: number | undefined, start?: string): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStart(pid);
  if (now === undefined && process.platform === 'linux') return false; // gone (or a zombie) between the two looks
  return start === undefined || now === undefined || now === start;
}

/** Whether `pid` runs `command` (its /proc command line; true where that cannot be read): a second guard against a reused pid. */
function runs(pid: number, command: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === command;
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitGone(pid: number, start: string | undefined, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (isAlive(pid, start)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Stops a server left running by a dead owner: SIGTERM, then SIGKILL after a grace period. */
async function stopLeftover(info: LockInfo, log: ((message: string) => void) | undefined): Promise<void> {
  const pid = info.server!;
  log?.(`A server from a previous run (pid ${pid}, port ${info.port ?? '?'}, started ${info.startedAt} by process ${info.owner}, which is gone) still holds this data directory; stopping it`);
  try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  if (await waitGone(pid, info.serverStart, TERM_GRACE_MS)) return;
  log?.(`pid ${pid} did not stop within ${TERM_GRACE_MS / 1000} s of SIGTERM; sending SIGKILL`);
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  if (!(await waitGone(pid, info.serverStart, KILL_GRACE_MS))) {
    throw new ProvisionError(`The server left running in this data directory (pid ${pid}) could not be stopped; stop it yourself and start again.`);
  }
}

function parse(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as LockInfo;
    return typeof v.owner === 'number' && typeof v.nonce === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the data directory's lock for a server of `command`, clearing what a crashed run left. */
export async function lockDataDir(dataDir: string, command: string, log?: (message: string) => void): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  const nonce = randomBytes(8).toString('hex');
  let info: LockInfo = { owner: process.pid, ownerStart: processStart(process.pid), command, startedAt: new Date().toISOString(), nonce };
  for (let attempt = 1; ; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(info)}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= ATTEMPTS) throw error;
    }
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released meanwhile
    const held = parse(text);
    if (held === undefined) {
      // Being written this instant, or garbage: look again before judging.
      await sleep(200);
      if ((await readFile(path, 'utf8').catch(() => undefined)) !== text) continue;
    } else if (isAlive(held.owner, held.ownerStart)) {
      throw new ProvisionError(
        `The data directory ${dataDir} is in use by another hub (process ${held.owner}` +
          `${held.server !== undefined ? `, its server pid ${held.server} on port ${held.port}` : ''}). ` +
          'Stop it, or give this one another data directory.',
      );
    } else if (isAlive(held.server, held.serverStart) && runs(held.server!, held.command)) {
      await stopLeftover(held, log);
    }
    // Break the stale lock: move it aside (one mover wins), and put it back if it was not the one judged.
    const aside = `${path}.stale-${nonce}`;
    try {
      await rename(path, aside);
    } catch {
      continue;
    }
    if ((await readFile(aside, 'utf8').catch(() => undefined)) !== text) await link(aside, path).catch(() => undefined);
    await rm(aside, { force: true });
  }
  // Not removed when this process exits without release(): its server may still be stopping, and
  // the next start handles a stale lock (owner gone) by waiting for that server to be gone.
  let released = false;
  return {
    path,
    async recordServer(pid, port) {
      info = { ...info, server: pid, serverStart: processStart(pid), port };
      const tmp = `${path}.${nonce}.tmp`;
      await writeFile(tmp, `${JSON.stringify(info)}\n`);
      await rename(tmp, path);
    },
    async release() {
      if (released) return;
      released = true;
      const current = parse(await readFile(path, 'utf8').catch(() => ''));
      if (current?.nonce === nonce) await rm(path, { force: true });
    },
  };
}
