/**
 * A hub killed with SIGKILL leaves the MongoDB-wire server it started running (it cannot stop it).
 * The next start on the same data directory must not start a second server there: it finds the
 * lock file (gateway/mongo/data-dir-lock.ts), stops the leftover and starts one of its own. Tested
 * with real `hub demo` processes (which provision FerretDB, or mongod when on PATH); servers are
 * counted by their command lines in /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../gateway/mongo/data-dir-lock.ts';
import { findExecutable } from '../../gateway/mongo/executables.ts';
import { cachedFerretDB } from '../../gateway/mongo/provision.ts';
import { ROOT } from '../support/hub.ts';

const canProvision = process.platform === 'linux'
  && ((await cachedFerretDB(join(ROOT, '.cache'))) !== undefined || (await findExecutable('mongod', process.env)) !== undefined);

const dirs: string[] = [];
const children = new Set<ChildProcess>();

/** Pids of processes whose command line names `path` (the server's data directory). */
async function serversOn(path: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((arg) => arg.includes(path))) pids.push(Number(entry));
  }
  return pids;
}

/** Running (not gone, not a zombie waiting for its parent). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

interface Demo {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `hub demo --port 0 --data-dir <dir>`, resolved once it serves (or once it exits, when `mayFail`). */
async function startDemo(dataDir: string, mayFail = false): Promise<Demo> {
  const env: NodeJS.ProcessEnv = { ...process.env, DEMO_POSTGRES_URL: 'postgres://nobody@127.0.0.1:1/none' };
  delete env['MONGODB_URI'];
  delete env['PORT'];
  const child = spawn(process.execPath, [join(ROOT, 'gateway/cli.ts'), 'demo', '--port', '0', '--data-dir', dataDir], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-65_536); });
  child.stderr!.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-65_536); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  const demo = { child, output: () => out, exited };
  const deadline = Date.now() + 90_000;
  while (!/hub is serving http/.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (mayFail) return demo;
      throw new Error(`hub demo exited before serving: ${out.slice(-3000)}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`hub demo did not serve within 90 s: ${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return demo;
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) {
    for (const pid of await serversOn(join(dir, 'mongo'))) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

describe.skipIf(!canProvision)('a demo killed with SIGKILL, then started again on the same data directory', () => {
  it('stops the server the killed one left and runs exactly one server there', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hub-crash-leftover-'));
    dirs.push(dataDir);
    const mongoDir = join(dataDir, 'mongo');

    const first = await startDemo(dataDir);
    const [leftover, ...others] = await serversOn(mongoDir);
    expect(others).toEqual([]);
    expect(leftover).toBeDefined();
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // What the fix is about: the killed hub could not stop its server.
    expect(alive(leftover!), 'the server outlives a hub killed with SIGKILL').toBe(true);
    expect(existsSync(join(mongoDir, LOCK_FILE))).toBe(true);

    const second = await startDemo(dataDir);
    expect(second.output()).toContain(`pid ${leftover}`);
    expect(second.output()).toContain('from a previous run');
    const now = await serversOn(mongoDir);
    expect(now, 'exactly one server on the data directory').toHaveLength(1);
    expect(now[0]).not.toBe(leftover);
    expect(alive(leftover!)).toBe(false);

    // A start while that hub runs is refused: the directory is in use, nothing is stopped.
    const third = await startDemo(dataDir, true);
    const thirdExit = await third.exited;
    expect(thirdExit.code).toBe(1);
    expect(third.output()).toContain('is in use by another hub');
    expect(await serversOn(mongoDir)).toEqual(now);

    // A clean stop stops the server and releases the lock.
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(await serversOn(mongoDir)).toEqual([]);
    expect(existsSync(join(mongoDir, LOCK_FILE))).toBe(false);
  }, 240_000);
});
