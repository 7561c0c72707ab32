import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** The last `keepStderrBytes` of stderr. */
  readonly stderr: string;
}

export interface RunCommandOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Called with each complete stderr line as it arrives. */
  readonly onStderrLine?: (line: string) => void;
  readonly keepStderrBytes?: number;
}

/** Runs a command to completion, collecting stdout and the tail of stderr. Rejects only if it cannot start. */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const keep = options.keepStderrBytes ?? 16_384;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    let partialLine = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-keep);
      if (options.onStderrLine === undefined) return;
      const lines = (partialLine + chunk).split('\n');
      partialLine = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') options.onStderrLine(line);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (partialLine.trim() !== '') options.onStderrLine?.(partialLine);
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr });
    });
  });
}
