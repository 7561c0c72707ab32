/**
 * Which code the figures came from: the git commit and the files changed since (read-only git).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT } from '../config.ts';

const run = promisify(execFile);

export interface Revision {
  readonly commit: string | null;
  /** Files changed or added since the commit, outside bench/ (the hub's own code). */
  readonly changedOutsideBench: readonly string[];
}

export async function readRevision(): Promise<Revision> {
  try {
    const { stdout: commit } = await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT });
    const { stdout: status } = await run('git', ['status', '--porcelain'], { cwd: ROOT });
    const changed = status.split('\n').map((l) => l.slice(3).trim()).filter((f) => f !== '' && !f.startsWith('bench/'));
    return { commit: commit.trim(), changedOutsideBench: changed };
  } catch {
    return { commit: null, changedOutsideBench: [] };
  }
}
