/**
 * The data-directory lock of provisioned MongoDB-wire servers (gateway/mongo/data-dir-lock.ts):
 * one holder at a time, stale locks of dead owners broken, a server a dead owner left stopped.
 * (tests/e2e/provision-crash.test.ts runs the same with real `hub demo` processes and FerretDB.)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, LOCK_FILE, lockDataDir, processStart } from '../../gateway/mongo/data-dir-lock.ts';
import { ProvisionError } from '../../gateway/mongo/errors.ts';
import { findExecutable } from '../../gateway/mongo/executables.ts';

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hub-lock-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * A pid no process has: above Linux's largest pid_max (2^22). (A pid of a process that exited
 * could be reused meanwhile by another test's process, which the lock would then judge alive.)
 */
let nextDead = 4_194_400;
const deadPid = () => nextDead++;

const SLEEP = (await findExecutable('sleep', process.env))!;

const stale = (owner: number, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ owner, command: '/bin/ferretdb', startedAt: '2026-01-01T00:00:00Z', nonce: 'feedfacefeedface', ...extra })}\n`;

describe('lockDataDir', () => {
  it('gives the directory to one holder at a time, and release frees it', async () => {
    const dir = await dataDir();
    const lock = await lockDataDir(dir, '/bin/ferretdb');
    await lock.recordServer(process.pid, 27017);
    const held = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as Record<string, unknown>;
    expect(held).toMatchObject({ owner: process.pid, server: process.pid, port: 27017, command: '/bin/ferretdb' });
    // The holder is alive (this very process): a second start is refused, and nothing is stopped.
    await expect(lockDataDir(dir, '/bin/ferretdb')).rejects.toThrow(ProvisionError);
    await expect(lockDataDir(dir, '/bin/ferretdb')).rejects.toThrow(/in use by another hub \(process \d+, its server pid \d+ on port 27017\)/);
    await lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const again = await lockDataDir(dir, '/bin/ferretdb');
    await again.release();
  });

  it('breaks the lock of a dead owner whose server is gone too', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, LOCK_FILE), stale(deadPid(), { server: deadPid(), port: 1 }));
    const lock = await lockDataDir(dir, '/bin/ferretdb');
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ owner: process.pid });
    await lock.release();
  });

  it('stops the server a dead owner left running (SIGTERM), then takes the directory', async () => {
    const dir = await dataDir();
    const server = spawn(SLEEP, ['60'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => server.once('exit', (_code, signal) => resolve(signal)));
    await writeFile(join(dir, LOCK_FILE), stale(deadPid(), { command: SLEEP, server: server.pid, serverStart: processStart(server.pid!), port: 1 }));
    const messages: string[] = [];
    const lock = await lockDataDir(dir, '/bin/ferretdb', (m) => messages.push(m));
    expect(await exited).toBe('SIGTERM');
    expect(messages.join('\n')).toMatch(new RegExp(`previous run \\(pid ${server.pid}, port 1`));
    await lock.release();
  });

  it('does not take a reused pid for the recorded server (its start time differs)', async () => {
    const dir = await dataDir();
    const bystander = spawn(SLEEP, ['60'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, LOCK_FILE), stale(deadPid(), { command: SLEEP, server: bystander.pid, serverStart: '1', port: 1 }));
      expect(isAlive(bystander.pid, '1')).toBe(process.platform !== 'linux');
      const lock = await lockDataDir(dir, '/bin/ferretdb');
      expect(bystander.exitCode === null && bystander.signalCode === null).toBe(true);
      await lock.release();
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('leaves alone a live process under the recorded pid that runs another program', async () => {
    const dir = await dataDir();
    const bystander = spawn(SLEEP, ['60'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, LOCK_FILE), stale(deadPid(), { server: bystander.pid, serverStart: processStart(bystander.pid!), port: 1 }));
      const lock = await lockDataDir(dir, '/bin/ferretdb');
      expect(bystander.exitCode === null && bystander.signalCode === null).toBe(true);
      await lock.release();
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('treats an unreadable lock file that stays unreadable as stale', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, LOCK_FILE), '{ half written');
    const lock = await lockDataDir(dir, '/bin/ferretdb');
    await lock.release();
  });
});
