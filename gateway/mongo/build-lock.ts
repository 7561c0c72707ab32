import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BuildLockOptions {
  /** Directory created atomically (mkdir) by the process that builds. */
  readonly lockDir: string;
  /** True once the artefact exists; waiters stop waiting and the builder skips the build. */
  readonly isDone: () => Promise<boolean>;
  /** What is being built, for messages. */
  readonly what: string;
  readonly log?: (message: string) => void;
  /** A lock older than this is taken over even if its owner seems alive. Default 30 min. */
  readonly staleAfterMs?: number;
  readonly pollMs?: number;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/**
 * Runs `build` in at most one process at a time (per lock directory, across processes), unless
 * `isDone()` reports the artefact ready first. Returns `build`'s result, or undefined when there
 * was nothing left to build.
 *
 * The lock only saves duplicate work: builders must still publish their artefact atomically
 * (write elsewhere, then rename), because a lock whose owner died is taken over.
 */
export async function withBuildLock<T>(options: BuildLockOptions, build: () => Promise<T>): Promise<T | undefined> {
  const { lockDir, isDone, what, log } = options;
  const staleAfterMs = options.staleAfterMs ?? 30 * 60_000;
  const pollMs = options.pollMs ?? 500;
  let announcedWait = false;

  for (;;) {
    if (await isDone()) return undefined;
    if (await tryAcquire(lockDir)) {
      try {
        if (await isDone()) return undefined;
        return await build();
      } finally {
        await rm(lockDir, { recursive: true, force: true });
      }
    }
    const owner = await readOwner(lockDir);
    const stale = await staleReason(lockDir, owner, staleAfterMs);
    if (stale !== undefined) {
      log?.(`Taking over the ${what} lock ${lockDir}: ${stale}`);
      await breakLock(lockDir);
      continue;
    }
    if (!announcedWait) {
      const who = owner === undefined ? 'another process' : `process ${owner.pid} on ${owner.host}`;
      log?.(`Waiting for ${who} to finish building ${what} (lock ${lockDir})…`);
      announcedWait = true;
    }
    await sleep(pollMs);
  }
}

async function tryAcquire(lockDir: string): Promise<boolean> {
  try {
    await mkdir(lockDir);
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  }
  const owner: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  await writeFile(join(lockDir, 'owner.json'), `${JSON.stringify(owner)}\n`);
  return true;
}

async function readOwner(lockDir: string): Promise<LockOwner | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(lockDir, 'owner.json'), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { pid, host, startedAt } = parsed as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string' || typeof startedAt !== 'string') return undefined;
    return { pid, host, startedAt };
  } catch {
    return undefined;
  }
}

async function staleReason(lockDir: string, owner: LockOwner | undefined, staleAfterMs: number): Promise<string | undefined> {
  let ageMs: number;
  try {
    ageMs = Date.now() - (await stat(lockDir)).mtimeMs;
  } catch {
    return undefined; // released meanwhile; the next round will acquire it
  }
  if (ageMs > staleAfterMs) return `it is ${Math.round(ageMs / 60_000)} min old`;
  if (owner === undefined) {
    // The owner writes owner.json right after mkdir; a lock without one for long was abandoned.
    return ageMs > 60_000 ? 'it has no owner record' : undefined;
  }
  if (owner.host === hostname() && !isProcessAlive(owner.pid)) return `its owner, process ${owner.pid}, is gone`;
  return undefined;
}

async function breakLock(lockDir: string): Promise<void> {
  // Rename first: only one of several waiters can move a given directory away.
  const aside = `${lockDir}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockDir, aside);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  await rm(aside, { recursive: true, force: true });
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
