/**
 * The bench's commands refuse a bad setting with one line naming it and exit status 2, before
 * starting anything: no stack trace.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(script: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr });
    });
  });
}

const CASES: ReadonlyArray<{ what: string; script: string; env: Record<string, string>; code: number; stderr: string }> = [
  { what: 'npm run bench: a setting that is not a number is named, exit 2', script: 'bench/run.ts', env: { BENCH_SECONDS: 'abc' }, code: 2, stderr: 'BENCH_SECONDS must be a number from 0.5 to 120, got "abc"' },
  { what: 'npm run bench:ab: an unknown trusted-documents mode is named, exit 2', script: 'bench/ab.ts', env: { BENCH_HUB_TRUSTED: 'yes' }, code: 2, stderr: 'BENCH_HUB_TRUSTED must be off or enforce, got "yes"' },
  { what: 'npm run bench:ab: Node flags must look like flags', script: 'bench/ab.ts', env: { BENCH_HUB_NODE_FLAGS: '--max-semi-space-size=32 oops' }, code: 2, stderr: 'BENCH_HUB_NODE_FLAGS: "oops" is not a flag of the form --name or --name=value' },
  { what: 'npm run bench: a profiled scenario that does not exist is named, exit 2', script: 'bench/run.ts', env: { BENCH_PROFILE_SCENARIOS: 'one,verfy' }, code: 2, stderr: 'BENCH_PROFILE_SCENARIOS: "verfy" is not a scenario (one, batch, verify, denied)' },
  { what: 'npm run bench:ab: a baseline that is not a commit is named, exit 1, nothing started', script: 'bench/ab.ts', env: { BENCH_AB_BASE: 'no-such-commit' }, code: 1, stderr: 'BENCH_AB_BASE: no-such-commit is not a commit of this repository' },
];

describe('bench settings', () => {
  it.each(CASES)('$what', async ({ script, env, code, stderr }) => {
    expect(await run(script, env)).toEqual({ code, stderr: `${stderr}\n` });
  });
});
