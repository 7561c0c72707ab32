/**
 * Runs the `hub` command (gateway/cli.ts) on the project's Node, as an operator would, or any
 * other command, and collects its exit code and output. Killed after `timeoutMs` (default 60 s):
 * no test waits forever.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './hub.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runHub(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  return runProcess(process.execPath, [join(ROOT, 'gateway/cli.ts'), ...args], { ...process.env, ...env }, timeoutMs);
}

/** Runs a command in the project's directory with this environment; killed after `timeoutMs` (code null). */
export function runProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
